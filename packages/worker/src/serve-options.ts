// From settings (seconds, Gunicorn's names) to the core's ServeOptions (milliseconds).
import type { AccessRecord, Logger as CoreLogger, ServeOptions } from '@tsws/core';
import type { AccessLog } from './logging.js';
import type { RequestMetrics } from './metrics.js';
import type { WorkerSettings } from './protocol.js';
import { tlsOptions } from './tls-files.js';

/** The core's onResponse for what is on: the access log, request metrics, both, or neither (no hook, no cost). */
function onResponse(accessLog?: AccessLog, metrics?: RequestMetrics): ServeOptions['onResponse'] {
  const observe = metrics
    ? (r: AccessRecord) => metrics.observe(r.method, r.status, r.durationMs / 1000, r.requestBytes, r.bytes)
    : undefined;
  if (accessLog && observe)
    return (r) => {
      accessLog.write(r);
      observe(r);
    };
  return accessLog?.write ?? observe;
}

export function coreOptions(
  settings: WorkerSettings,
  logger: CoreLogger,
  accessLog?: AccessLog,
  metrics?: RequestMetrics,
): ServeOptions {
  const hook = onResponse(accessLog, metrics);
  return {
    bind: settings.bind,
    backlog: settings.backlog,
    reusePort: settings.reusePort,
    umask: settings.umask,
    // Gunicorn's --keep-alive 0 turns keep-alive off.
    keepAlive: settings.keepAlive > 0,
    keepAliveTimeout: Math.round(settings.keepAlive * 1000),
    headerTimeout: Math.round(settings.headerTimeout * 1000),
    bodyTimeout: Math.round(settings.bodyTimeout * 1000),
    maxConnections: settings.workerConnections,
    maxPipelinedRequests: settings.maxPipelinedRequests,
    limitRequestLine: settings.limitRequestLine,
    limitRequestFields: settings.limitRequestFields,
    limitRequestFieldSize: settings.limitRequestFieldSize,
    limitRequestBody: settings.limitRequestBody,
    forwardedAllowIps: settings.forwardedAllowIps,
    tls: tlsOptions(settings),
    proxyProtocol: settings.proxyProtocol,
    proxyAllowFrom: settings.proxyAllowFrom,
    httpProtocols: settings.httpProtocols,
    logger,
    ...(hook ? { onResponse: hook } : {}),
  };
}
