// The one settings table. Every option of `tsws` and `tsws-master` is declared here once: its
// CLI flags, its config-file key (the name), its environment variable (TSWS_ + the name in
// UPPER_SNAKE), its parser/validator, its default and its description. The command lines,
// config files, environment, --help and the README's option table are all generated from it.
// Settings that the core has an option for take the core's default (DEFAULTS, in ms) rather
// than stating it again, durations as `inSeconds(DEFAULTS.x)`, which coreOptions() turns back.
import { tmpdir } from 'node:os';
// The bind and options modules alone: a master imports the settings and must not load the core's parser.
import { type BindAddress, parseBind } from '@tsws/core/bind';
import { DEFAULTS } from '@tsws/core/options';
import { availableCpus } from './container.js';

export type Command = 'tsws' | 'tsws-master';
export type Section =
  | 'App'
  | 'Server'
  | 'TLS'
  | 'Workers'
  | 'Limits'
  | 'Timeouts'
  | 'Logging'
  | 'Process'
  | 'Operations'
  | 'Hooks'
  | 'Config';

const BOTH: readonly Command[] = ['tsws', 'tsws-master'];

/** The config files looked for in --chdir when no --config is given; the first found is read. */
export const CONFIG_FILES = ['tsws.config.js', 'tsws.config.mjs', 'tsws.config.cjs', 'tsws.config.json'] as const;
const MASTER: readonly Command[] = ['tsws-master'];

/** A hook from the config file; the master documents each one's arguments. */
export type Hook = (...args: never[]) => unknown;

export interface Setting<T> {
  section: Section;
  /** A master hook: a function, given in a config file or to createMaster(), never a flag or env var. */
  hook?: boolean;
  /** Commander flags, e.g. `-w, --workers <n>`; absent for settings only a config file can give. */
  flags?: string;
  /** The APP positional argument rather than a flag. */
  positional?: boolean;
  /** A command-line action (`--check-config`), not a value a config file or env var may set. */
  action?: boolean;
  commands: readonly Command[];
  /** Turns a CLI/env string, or a config-file value, into a checked value; throws with the reason. */
  parse(value: unknown): T;
  default: T | (() => T);
  /** How the default reads in docs, when it is computed. */
  defaultText?: string;
  /** The flag may be given several times; each value is parsed and collected. */
  repeatable?: boolean;
  /** A `--no-...` flag also exists and gives `false` (for settings on by default, such as the control socket). */
  negatable?: boolean;
  /** The first sentence is the --help line; the whole text goes to the README. */
  desc: string;
}

// ---- parsers: small pure functions, each throws a reason a user can act on ------------------

function text(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected text, got ${describe(value)}`);
  return value;
}

function whole(min: number): (value: unknown) => number {
  return (value) => {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min)
      throw new Error(`expected a whole number >= ${min}, got ${describe(value)}`);
    return n;
  };
}

function seconds(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw new Error(`expected a number of seconds >= 0, got ${describe(value)}`);
  return n;
}

function flag(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
  }
  throw new Error(`expected true or false, got ${describe(value)}`);
}

function oneOf<const T extends string>(...choices: T[]): (value: unknown) => T {
  return (value) => {
    if (typeof value === 'string' && (choices as string[]).includes(value)) return value as T;
    throw new Error(`expected one of ${choices.join(', ')}, got ${describe(value)}`);
  };
}

/** A list from an array or a comma-separated string. */
function listOf<T>(item: (value: unknown) => T): (value: unknown) => T[] {
  return (value) => {
    const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
    if (items === undefined) throw new Error(`expected a list, got ${describe(value)}`);
    return items
      .map((v) => (typeof v === 'string' ? v.trim() : v))
      .filter((v) => v !== '')
      .map(item);
  };
}

/** Addresses and CIDR ranges, or `*` for any. */
function peerList(value: unknown): string[] | '*' {
  return value === '*' ? '*' : listOf(text)(value);
}

/** KEY=VALUE pairs, from strings or an object. */
function envPairs(value: unknown): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) out[k] = String(v);
    return out;
  }
  const out: Record<string, string> = {};
  for (const pair of listOf(text)(Array.isArray(value) ? value : [value])) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`expected KEY=VALUE, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A file mode such as 0o022, "022" or "0o022". */
function mode(value: unknown): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^(0o?)?[0-7]{1,4}$/i.test(value)
        ? Number.parseInt(value.replace(/^0o/i, ''), 8)
        : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777)
    throw new Error(`expected an octal mode such as 0o022, got ${describe(value)}`);
  return n;
}

/** A bind address of one of `kinds` (see @tsws/core's parseBind). */
function address(...kinds: Array<BindAddress['kind']>): (value: unknown) => string {
  return (value) => {
    const spec = text(value);
    let parsed: BindAddress;
    try {
      parsed = parseBind(spec);
    } catch (err) {
      throw new Error((err as Error).message.replace(/^bind /, ''));
    }
    if (!kinds.includes(parsed.kind) || (parsed.kind === 'tcp' && parsed.port === 0))
      throw new Error(
        `expected ${kinds.includes('unix') ? 'host:port or unix:/path' : 'host:port'}, got ${JSON.stringify(spec)}`,
      );
    return spec;
  };
}

function hook(value: unknown): Hook {
  if (typeof value !== 'function') throw new Error(`expected a function, got ${describe(value)}`);
  return value as Hook;
}

function optional<T>(parse: (value: unknown) => T): (value: unknown) => T | undefined {
  return (value) => (value === undefined || value === null ? undefined : parse(value));
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'a list' : 'an object';
}

/** A core default in ms as a setting's seconds. */
function inSeconds(ms: number): number {
  return ms / 1000;
}

function setting<T>(spec: Setting<T>): Setting<T> {
  return spec;
}

/** Where the control socket goes unless told: a per-user directory, the file named by the master's pid. */
export function defaultControlSocket(pid = process.pid): string {
  return `${controlSocketDir()}/${pid}.sock`;
}

/** $XDG_RUNTIME_DIR/tsws (the user's own, mode 0700 by the spec), else <tmpdir>/tsws-<uid>. */
export function controlSocketDir(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  return runtime ? `${runtime}/tsws` : `${tmpdir()}/tsws-${process.getuid?.() ?? 'user'}`;
}

function hookSetting(desc: string): Setting<Hook | undefined> {
  return {
    section: 'Hooks',
    hook: true,
    commands: MASTER,
    parse: optional(hook),
    default: undefined,
    defaultText: 'none',
    desc,
  };
}

// ---- the table -------------------------------------------------------------------------------

export const SETTINGS = {
  // App
  app: setting({
    section: 'App',
    positional: true,
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    desc:
      'The app to serve, as `module:export`: `app.js:app`, `app` (the default export), ' +
      '`pkg/server.mjs:api.handler`, `app.js:createApp()`.',
  }),
  chdir: setting({
    section: 'App',
    flags: '--chdir <dir>',
    commands: BOTH,
    parse: text,
    default: () => process.cwd(),
    defaultText: 'the current directory',
    desc: 'Change to this directory before loading the app (and look for the config file there).',
  }),
  interface: setting({
    section: 'App',
    flags: '--interface <kind>',
    commands: BOTH,
    parse: oneOf('auto', 'fetch', 'node'),
    default: 'auto',
    desc:
      'What the app is: `fetch` (a fetch handler or an object with `fetch`), `node` (a `(req, res)` listener ' +
      'such as Express), or `auto` to detect it.',
  }),
  workerClass: setting({
    section: 'App',
    flags: '-k, --worker-class <class>',
    commands: BOTH,
    parse: text,
    default: 'auto',
    desc:
      'The worker that serves the app: `tsws` (the tsws core, for fetch apps), `node` (node:http, for Node ' +
      "listeners), `auto` (by the app's interface), or a custom class as `path.js:Export`.",
  }),
  env: setting({
    section: 'App',
    flags: '-e, --env <KEY=VALUE>',
    repeatable: true,
    commands: BOTH,
    parse: envPairs,
    default: () => ({}),
    defaultText: 'none',
    desc: 'Set an environment variable for the app. Repeat for more.',
  }),

  // Server
  bind: setting({
    section: 'Server',
    flags: '-b, --bind <address>',
    repeatable: true,
    commands: BOTH,
    parse: listOf(text),
    default: () => [DEFAULTS.bind],
    desc:
      'Where to listen: `host:port`, `[ipv6]:port`, `unix:/path`, `unix:@abstract` or `fd://N`. Repeat for ' +
      'more. Sockets passed by systemd (LISTEN_FDS) are used instead when present. An abstract name (Linux) ' +
      'needs Node >= 22 (Node 20 pads it to 108 bytes, which only Node clients can reach), and under ' +
      "tsws-master the workers' --chdir must be the master's own directory.",
  }),
  backlog: setting({
    section: 'Server',
    flags: '--backlog <n>',
    commands: BOTH,
    parse: whole(1),
    default: DEFAULTS.backlog,
    desc: 'Connections the kernel queues before they are accepted (capped by net.core.somaxconn).',
  }),
  reusePort: setting({
    section: 'Server',
    flags: '--reuse-port',
    commands: BOTH,
    parse: flag,
    default: DEFAULTS.reusePort,
    desc: 'Set SO_REUSEPORT on TCP listeners (Node >= 22.12 or >= 23.1).',
  }),
  keepAlive: setting({
    section: 'Server',
    flags: '--keep-alive <seconds>',
    commands: BOTH,
    parse: seconds,
    default: inSeconds(DEFAULTS.keepAliveTimeout),
    desc: 'Close a keep-alive connection after this many idle seconds; 0 turns keep-alive off.',
  }),
  workerConnections: setting({
    section: 'Server',
    flags: '--worker-connections <n>',
    commands: BOTH,
    parse: whole(0),
    default: DEFAULTS.maxConnections,
    desc: 'Most simultaneous connections one worker holds; more are closed on accept. 0 means no limit.',
  }),
  forwardedAllowIps: setting({
    section: 'Server',
    flags: '--forwarded-allow-ips <list>',
    commands: BOTH,
    parse: peerList,
    default: () => [...DEFAULTS.forwardedAllowIps],
    desc:
      'Proxies trusted to set X-Forwarded-For, -Proto and -Host: comma-separated addresses or CIDR ranges, or ' +
      '`*` for any.',
  }),
  proxyProtocol: setting({
    section: 'Server',
    flags: '--proxy-protocol <version>',
    commands: BOTH,
    parse: oneOf('off', 'v1', 'v2', 'auto'),
    default: DEFAULTS.proxyProtocol as 'off' | 'v1' | 'v2' | 'auto',
    desc:
      'Read a PROXY protocol header (HAProxy send-proxy/send-proxy-v2, AWS and GCP load balancers) from ' +
      '--proxy-allow-from peers: `v1`, `v2` or `auto`. Its client becomes the client address (the app, the access ' +
      'log, --forwarded-allow-ips); a missing or bad header closes the connection with a log line.',
  }),
  proxyAllowFrom: setting({
    section: 'Server',
    flags: '--proxy-allow-from <list>',
    commands: BOTH,
    parse: peerList,
    default: () => [...DEFAULTS.proxyAllowFrom],
    desc:
      'Peers that must send a PROXY header with --proxy-protocol: comma-separated addresses or CIDR ranges, or `*`. ' +
      'From anyone else a header is refused.',
  }),
  httpProtocols: setting({
    section: 'Server',
    flags: '--http-protocols <list>',
    commands: BOTH,
    parse: (value: unknown): Array<'h1' | 'h2'> => {
      const list = listOf(oneOf('h1', 'h2'))(value);
      if (list.length === 0) throw new Error('expected h1, h2 or h1,h2');
      return [...new Set(list)];
    },
    default: () => [...DEFAULTS.httpProtocols],
    desc:
      'HTTP versions to serve: `h1`, `h2` or `h1,h2`. With --certfile, ALPN picks one per connection; without, ' +
      'HTTP/2 is cleartext with prior knowledge from --forwarded-allow-ips peers only (a proxy speaking h2c).',
  }),

  // TLS
  certfile: setting({
    section: 'TLS',
    flags: '--certfile <file>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    defaultText: 'none (plain HTTP)',
    desc:
      'Serve HTTPS with this certificate chain (PEM, leaf first) on every --bind; needs --keyfile. The files are ' +
      'read by each new worker, so a reload (HUP) picks up renewed certificates.',
  }),
  keyfile: setting({
    section: 'TLS',
    flags: '--keyfile <file>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    desc: "The certificate's private key (PEM).",
  }),
  caCerts: setting({
    section: 'TLS',
    flags: '--ca-certs <file>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    desc: 'Certificate authorities (PEM) that client certificates are checked against, for --cert-reqs 1 or 2.',
  }),
  certReqs: setting({
    section: 'TLS',
    flags: '--cert-reqs <n>',
    commands: BOTH,
    parse: (value: unknown): number => Number(oneOf('0', '1', '2')(String(value))),
    default: 0,
    desc:
      'Client certificates (mTLS): 0 not asked for, 1 optional (the app sees whether it was verified), ' +
      '2 required (no valid certificate, no connection). The app reads it from `info.tls`.',
  }),
  ciphers: setting({
    section: 'TLS',
    flags: '--ciphers <list>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    defaultText: "Node's default",
    desc: 'OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are always on).',
  }),
  tlsMinVersion: setting({
    section: 'TLS',
    flags: '--tls-min-version <version>',
    commands: BOTH,
    parse: oneOf('TLSv1.2', 'TLSv1.3'),
    default: 'TLSv1.2' as const,
    desc: 'The oldest TLS version accepted.',
  }),

  // Workers
  workers: setting({
    section: 'Workers',
    flags: '-w, --workers <n>',
    commands: MASTER,
    parse: whole(1),
    default: availableCpus,
    defaultText: 'the CPUs this process may use',
    desc:
      'How many worker processes to run. By default one per CPU this process may use: its CPU affinity ' +
      "(taskset, a container's cpuset) capped by its cgroup's CPU quota (a container's --cpus, a Kubernetes CPU " +
      'limit), rounded down.',
  }),
  scheduling: setting({
    section: 'Workers',
    flags: '--scheduling <policy>',
    commands: MASTER,
    parse: oneOf('rr', 'shared', 'reuseport'),
    default: 'shared',
    desc:
      'How connections reach workers: `shared` (one listening socket the kernel hands out), `rr` (the master ' +
      "accepts and passes them round-robin, node:cluster's default), or `reuseport` (one SO_REUSEPORT socket " +
      'per worker; Node >= 22.12).',
  }),
  sticky: setting({
    section: 'Workers',
    flags: '--sticky',
    commands: MASTER,
    parse: flag,
    default: false,
    desc:
      'Send every connection from one client address to the same worker (for socket.io long-polling and other ' +
      'in-memory sessions): the master accepts each connection, reads nothing from it, and hands it to the ' +
      'worker its address hashes to. Replaces --scheduling; TCP binds only, and not with --proxy-protocol (the ' +
      "master sees the proxy's address, not the client's).",
  }),
  timeout: setting({
    section: 'Workers',
    flags: '-t, --timeout <seconds>',
    commands: MASTER,
    parse: seconds,
    default: 30,
    desc: 'A worker silent this long (its event loop blocked) is killed and replaced. 0 turns it off.',
  }),
  bootTimeout: setting({
    section: 'Workers',
    flags: '--boot-timeout <seconds>',
    commands: MASTER,
    parse: seconds,
    default: 30,
    desc: 'A new worker must load the app and listen within this many seconds, or it counts as failed to boot.',
  }),
  gracefulTimeout: setting({
    section: 'Workers',
    flags: '--graceful-timeout <seconds>',
    commands: BOTH,
    parse: seconds,
    default: 30,
    desc: 'On a graceful stop, in-flight requests get this long to finish before their connections are cut.',
  }),
  maxRequests: setting({
    section: 'Workers',
    flags: '--max-requests <n>',
    commands: MASTER,
    parse: whole(0),
    default: 0,
    desc: 'Replace a worker after it has served this many requests (a bound on slow leaks). 0 turns it off.',
  }),
  maxRequestsJitter: setting({
    section: 'Workers',
    flags: '--max-requests-jitter <n>',
    commands: MASTER,
    parse: whole(0),
    default: 0,
    desc:
      'Add up to this many requests, at random per worker, to --max-requests so workers do not all restart at ' +
      'once.',
  }),
  maxWorkerMemory: setting({
    section: 'Workers',
    flags: '--max-worker-memory <MiB>',
    commands: MASTER,
    parse: (value: unknown): number | 'auto' => {
      if (value === 'auto') return 'auto';
      try {
        return whole(0)(value);
      } catch {
        throw new Error(`expected a whole number of MiB >= 0, or auto, got ${describe(value)}`);
      }
    },
    default: 'auto',
    desc:
      'Replace a worker whose resident memory exceeds this many MiB. 0 turns it off. `auto`: when the process ' +
      "has a memory limit (a container's, a systemd unit's MemoryMax), 90% of it shared equally among the " +
      "workers, so a growing worker is replaced before the kernel's OOM killer ends it mid-request; off when " +
      'there is no limit.',
  }),
  maxWorkerLifetime: setting({
    section: 'Workers',
    flags: '--max-worker-lifetime <seconds>',
    commands: MASTER,
    parse: seconds,
    default: 0,
    desc: 'Replace a worker after it has run this many seconds. 0 turns it off.',
  }),
  maxWorkerLifetimeJitter: setting({
    section: 'Workers',
    flags: '--max-worker-lifetime-jitter <seconds>',
    commands: MASTER,
    parse: seconds,
    default: 0,
    desc: 'Add up to this many seconds, at random per worker, to --max-worker-lifetime.',
  }),
  watchdog: setting({
    section: 'Workers',
    flags: '--no-watchdog',
    commands: MASTER,
    parse: flag,
    default: true,
    defaultText: 'on',
    desc:
      "Turn off each worker's watchdog thread, which tells the master what a blocked event loop is doing (the " +
      'request its timeout line names) and ends a worker left blocked by a dead master. It costs about 8 MB of ' +
      'memory per worker (a thread) and a few stores per request.',
  }),
  reload: setting({
    section: 'Workers',
    flags: '--reload',
    commands: MASTER,
    parse: flag,
    default: false,
    desc: 'Development: replace the workers when a source file under --chdir changes.',
  }),

  // Limits
  limitRequestLine: setting({
    section: 'Limits',
    flags: '--limit-request-line <bytes>',
    commands: BOTH,
    parse: whole(0),
    default: DEFAULTS.limitRequestLine,
    desc:
      'Longest request line (method, target, version) in bytes; longer gets 414. Bounds memory per request. 0 ' +
      'means no limit.',
  }),
  limitRequestFields: setting({
    section: 'Limits',
    flags: '--limit-request-fields <n>',
    commands: BOTH,
    parse: whole(0),
    default: DEFAULTS.limitRequestFields,
    desc: 'Most header fields in one request; more gets 431. 0 means no limit.',
  }),
  limitRequestFieldSize: setting({
    section: 'Limits',
    flags: '--limit-request-field-size <bytes>',
    commands: BOTH,
    parse: whole(0),
    default: DEFAULTS.limitRequestFieldSize,
    desc: 'Longest header field (name and value) in bytes; longer gets 431. 0 means no limit.',
  }),
  limitRequestBody: setting({
    section: 'Limits',
    flags: '--limit-request-body <bytes>',
    commands: BOTH,
    parse: whole(0),
    default: DEFAULTS.limitRequestBody,
    desc:
      'Largest request body in bytes; larger gets 413 (a declared Content-Length is refused before the body is ' +
      'read). 0 means no limit.',
  }),
  maxPipelinedRequests: setting({
    section: 'Limits',
    flags: '--max-pipelined-requests <n>',
    commands: BOTH,
    parse: whole(0),
    default: DEFAULTS.maxPipelinedRequests,
    desc:
      'Requests read ahead on one connection while earlier ones are answered; reading pauses there. 0 means no ' +
      'limit.',
  }),

  // Timeouts
  headerTimeout: setting({
    section: 'Timeouts',
    flags: '--header-timeout <seconds>',
    commands: BOTH,
    parse: seconds,
    default: inSeconds(DEFAULTS.headerTimeout),
    desc:
      "A request's line and headers must arrive within this many seconds of its first byte, or it gets 408 " +
      '(against slowloris). 0 turns it off.',
  }),
  bodyTimeout: setting({
    section: 'Timeouts',
    flags: '--body-timeout <seconds>',
    commands: BOTH,
    parse: seconds,
    default: inSeconds(DEFAULTS.bodyTimeout),
    desc:
      'Longest stall mid-body: no request body bytes arriving, or a response the client does not read. 0 turns ' +
      "it off. Linux shows a reader taking bytes only once a third of the send buffer is free (nginx's " +
      'send_timeout sees the same), so with a 4 MiB buffer a steady reader slower than about 45 KB/s can be cut ' +
      'at 30 s.',
  }),

  // Logging
  logLevel: setting({
    section: 'Logging',
    flags: '--log-level <level>',
    commands: BOTH,
    parse: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
    default: 'info',
    desc: 'The least severe level written to the error log.',
  }),
  logFormat: setting({
    section: 'Logging',
    flags: '--log-format <format>',
    commands: BOTH,
    parse: oneOf('auto', 'json', 'pretty'),
    default: 'auto',
    desc:
      'How log lines look: `json` (one JSON object per line), `pretty` (one short line per event, for people), ' +
      'or `auto`: pretty on a terminal, JSON anywhere else. The access log follows it: JSON lines, or when ' +
      'pretty the combined format.',
  }),
  accessLog: setting({
    section: 'Logging',
    flags: '--access-log <path>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    defaultText: 'off',
    desc: 'Write one line per request to this file, or `-` for standard output.',
  }),
  errorLog: setting({
    section: 'Logging',
    flags: '--error-log <path>',
    commands: BOTH,
    parse: text,
    default: '-',
    defaultText: '- (standard error)',
    desc: 'Where log lines go: a file, or `-` for standard error.',
  }),

  // Process
  pid: setting({
    section: 'Process',
    flags: '-p, --pid <file>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    defaultText: 'none',
    desc: "Write the master's (or the single process's) PID to this file, and remove it on exit.",
  }),
  user: setting({
    section: 'Process',
    flags: '--user <user>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    defaultText: 'unchanged',
    desc: 'Run workers as this user (name or uid), switched after the sockets are bound. Needs root.',
  }),
  group: setting({
    section: 'Process',
    flags: '--group <group>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    defaultText: 'unchanged',
    desc: 'Run workers as this group (name or gid), switched after the sockets are bound. Needs root.',
  }),
  umask: setting({
    section: 'Process',
    flags: '--umask <mode>',
    commands: BOTH,
    parse: optional(mode),
    default: undefined,
    defaultText: 'unchanged',
    desc: 'The umask for files tsws creates, such as Unix socket files (e.g. 0o007 for group access).',
  }),

  // Operations
  controlSocket: setting({
    section: 'Operations',
    flags: '--control-socket <path>',
    negatable: true,
    commands: MASTER,
    parse: (value: unknown): string | false =>
      value === false || (typeof value === 'string' && /^(false|off|no|0)$/i.test(value)) ? false : text(value),
    default: () => defaultControlSocket(),
    defaultText: '`$XDG_RUNTIME_DIR/tsws/<pid>.sock`, else `<tmpdir>/tsws-<uid>/<pid>.sock`',
    desc:
      "The master's control socket for `tsws-ctl` (a Unix socket, mode 0600, in a directory only its user can " +
      'enter). `--no-control-socket` (or `false`) runs without one, e.g. on a read-only filesystem.',
  }),
  metricsBind: setting({
    section: 'Operations',
    flags: '--metrics-bind <address>',
    commands: MASTER,
    parse: optional(address('tcp', 'unix')),
    default: undefined,
    defaultText: 'off',
    desc:
      'Serve Prometheus metrics (`/metrics`) and health checks (`/livez`, `/readyz`) from the master on this ' +
      'address: `host:port`, `[ipv6]:port` or `unix:/path`. Keep it off the public network.',
  }),
  drainDelay: setting({
    section: 'Operations',
    flags: '--drain-delay <seconds>',
    commands: MASTER,
    parse: seconds,
    default: 0,
    desc:
      'On TERM, answer `/readyz` with 503 at once but keep serving for this many seconds before the graceful ' +
      'stop, while a load balancer or Kubernetes takes the instance out of rotation. Add it to ' +
      "--graceful-timeout when sizing the orchestrator's stop timeout.",
  }),
  statsdHost: setting({
    section: 'Operations',
    flags: '--statsd-host <host:port>',
    commands: MASTER,
    parse: optional(address('tcp')),
    default: undefined,
    defaultText: 'off',
    desc: "Also send the request counters and the master's gauges to this StatsD server over UDP, once a second.",
  }),
  statsdPrefix: setting({
    section: 'Operations',
    flags: '--statsd-prefix <prefix>',
    commands: MASTER,
    parse: text,
    default: 'tsws',
    desc: 'The prefix of every StatsD metric name.',
  }),

  // Hooks (config file or createMaster() only), and how long the master waits for one
  hookTimeout: setting({
    section: 'Hooks',
    flags: '--hook-timeout <seconds>',
    commands: MASTER,
    parse: seconds,
    default: 30,
    desc:
      'How long the master waits for a hook, or for the config file to load again on a reload, before it logs ' +
      'what it gave up on and carries on (a reload whose settings were not read is abandoned). Signals and ' +
      'workers are handled meanwhile. 0 means no limit.',
  }),
  onStarting: hookSetting('`onStarting(master)`: called before the master starts any worker.'),
  whenReady: hookSetting('`whenReady(master)`: called once every first worker is listening.'),
  onReload: hookSetting('`onReload(master)`: called when a reload begins (HUP or `reload()`).'),
  postFork: hookSetting('`postFork(master, worker)`: called in the master just after a worker process is started.'),
  workerExit: hookSetting('`workerExit(master, worker)`: called in the master after a worker process has exited.'),
  onExit: hookSetting('`onExit(master)`: called just before the master exits.'),

  // Config
  config: setting({
    section: 'Config',
    flags: '-c, --config <file>',
    commands: BOTH,
    parse: optional(text),
    default: undefined,
    defaultText: `the first of ${CONFIG_FILES.join(', ')} in --chdir, if any`,
    desc:
      'Read settings from this file: a `.json` object, or a `.js`, `.mjs` or `.cjs` module whose default export ' +
      'is an object (or a function returning one).',
  }),
  checkConfig: setting({
    section: 'Config',
    flags: '--check-config',
    action: true,
    commands: BOTH,
    parse: flag,
    default: false,
    desc: 'Check the settings and that the app loads, then exit: 0 when all is well, 1 otherwise.',
  }),
  printConfig: setting({
    section: 'Config',
    flags: '--print-config',
    action: true,
    commands: BOTH,
    parse: flag,
    default: false,
    desc: 'Print the resolved settings as JSON, then exit.',
  }),
} satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;

/** Every setting, resolved and typed. */
export type Settings = { -readonly [K in SettingName]: ReturnType<(typeof SETTINGS)[K]['parse']> };

/** The master's hooks, by name: the settings declared with hookSetting(). */
export type HookName = { [K in SettingName]: Settings[K] extends Hook | undefined ? K : never }[SettingName];

/** `TSWS_` + the name in UPPER_SNAKE: `gracefulTimeout` is `TSWS_GRACEFUL_TIMEOUT`. */
export function envName(name: SettingName): string {
  return `TSWS_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** The long flag of a setting (`--graceful-timeout`), for messages. */
export function flagName(name: SettingName): string {
  const flags: string | undefined = (SETTINGS[name] as Setting<unknown>).flags;
  return flags?.match(/--[\w-]+/)?.[0] ?? name;
}

export function defaultOf<K extends SettingName>(name: K): Settings[K] {
  const d = (SETTINGS[name] as Setting<Settings[K]>).default;
  return typeof d === 'function' ? (d as () => Settings[K])() : (d as Settings[K]);
}

export function defaults(): Settings {
  const out = {} as Record<SettingName, unknown>;
  for (const name of Object.keys(SETTINGS) as SettingName[]) out[name] = defaultOf(name);
  return out as Settings;
}
