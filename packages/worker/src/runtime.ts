// A worker's life inside a master: boot (load the app, listen), say ready, heartbeat while the
// event loop turns, stop gracefully when told or when the master goes away.
import { Server } from '@tsws/core';
import { AppLoadError, loadApp } from './load.js';
import { createAccessLog, createLogger } from './logging.js';
import { decodeBoot, EXIT, isMasterMessage, type WorkerMessage, WORKER_ENV } from './protocol.js';
import { coreOptions } from './serve-options.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** Runs this process as a master's worker; the master's settings arrive in TSWS_WORKER. */
export async function runWorker(): Promise<void> {
  const raw = process.env[WORKER_ENV];
  if (!raw || !process.send) {
    console.error('tsws: this is a worker process, started by tsws-master');
    process.exit(EXIT.USAGE);
  }
  const { settings, id, heartbeatMs } = decodeBoot(raw);
  const logging = createLogger(settings, { worker: id });
  const log = logging.log;
  Object.assign(process.env, settings.env);

  let server: Server;
  try {
    process.chdir(settings.chdir);
    const app = await loadApp(settings.app!, settings.chdir);
    const access = settings.accessLog ? createAccessLog(settings.accessLog, settings.logFormat) : undefined;
    server = new Server(app as ConstructorParameters<typeof Server>[0], coreOptions(settings, log, access));
  } catch (err) {
    log.fatal({ err }, err instanceof AppLoadError ? err.message : 'the app failed to load');
    logging.flush();
    process.exit(EXIT.APP_LOAD_ERROR);
  }
  try {
    await server.listen();
  } catch (err) {
    log.fatal({ err }, (err as Error).message);
    logging.flush();
    process.exit(EXIT.BOOT_ERROR);
  }

  let stopping = false;
  const stop = async (graceful: boolean, timeoutMs: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(beat);
    await server.shutdown(graceful ? timeoutMs : 0);
    logging.flush();
    process.exit(EXIT.OK);
  };
  const heartbeat = () => send({ tsws: 'heartbeat', ...server.stats(), rss: process.memoryUsage.rss() });
  const beat = setInterval(heartbeat, heartbeatMs);
  process.on('message', (message: unknown) => {
    if (!isMasterMessage(message)) return;
    if (message.tsws === 'stop') void stop(message.graceful, message.timeoutMs);
    else if (message.tsws === 'reopen-logs') logging.reopen();
  });
  // The master is gone (killed, crashed): finish what is in flight and leave, never orphaned.
  process.on('disconnect', () => void stop(true, settings.gracefulTimeout * 1000));
  // Signals come from the master (through cluster) or an operator: TERM graceful, INT/QUIT quick.
  process.on('SIGTERM', () => void stop(true, settings.gracefulTimeout * 1000));
  process.on('SIGINT', () => void stop(false, 0));
  process.on('SIGQUIT', () => void stop(false, 0));

  send({ tsws: 'ready', workerClass: 'tsws', listening: server.urls() });
  heartbeat();
}
