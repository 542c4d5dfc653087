export {
  type BindAddress,
  BindError,
  clearStaleSocket,
  formatAddress,
  hasReusePort,
  type ListenSettings,
  listenOn,
  parseBind,
} from './bind.js';
export { Edge, type EdgeOptions } from './edge.js';
export type { ConnInfo, ServerInfo } from './exchange.js';
export { firstStreamWithin } from './http2.js';
export {
  type AccessRecord,
  DEFAULTS,
  type ListenerInput,
  type Logger,
  maxHeaderListSize,
  OptionError,
  type ResolvedOptions,
  resolveOptions,
  type ServeOptions,
} from './options.js';
export { trustCheck } from './proxy.js';
export type { ProxiedClient } from './proxy-protocol.js';
export { installGlobals } from './response.js';
export {
  type FetchApp,
  type FetchHandler,
  listen,
  run,
  Server,
  type ServerStats,
  serve,
  toHandler,
} from './server.js';
export { type TlsInfo, type TlsOptions, tlsInfo, tlsServerOptions } from './tls.js';
export type { SocketAddress } from './upgrade.js';
export type {
  BinaryData,
  BinaryType,
  HeadersLike,
  PublishRelay,
  ServerWebSocket,
  UpgradeOptions,
  WebSocketHandler,
} from './websocket.js';
