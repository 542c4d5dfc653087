// From settings (seconds, Gunicorn's names) to the core's ServeOptions (milliseconds).
import type { Logger as CoreLogger, ServeOptions } from '@tsws/core';
import type { AccessLog } from './logging.js';
import type { WorkerSettings } from './protocol.js';

export function coreOptions(settings: WorkerSettings, logger: CoreLogger, accessLog?: AccessLog): ServeOptions {
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
    logger,
    ...(accessLog ? { onResponse: accessLog.write } : {}),
  };
}
