// @tsws/master: a Gunicorn-style pre-fork master for tsws workers.
import { resolveSettings, type Settings } from '@tsws/worker/internal';
import { Master } from './master.js';

export { EXIT, SettingError, type Settings, type WorkerStatus } from '@tsws/worker/internal';
export {
  HaltError,
  Master,
  type MasterEvents,
  type MasterSignal,
  type MasterState,
  SIGNALS,
  type WorkerExit,
} from './master.js';
export type { ReplaceReason, WorkerInfo, WorkerState } from './workers.js';

/** Any setting of `tsws-master`, by its config-file name; `app` (`module:export`) is required. */
export type MasterOptions = Partial<Settings>;

/**
 * A master for `options.app`. Settings come from the same sources as the command line's
 * (defaults < config file < TSWS_* env < TSWS_CMD_ARGS), with `options` ranking as the command
 * line. Nothing happens until start().
 */
export function createMaster(options: MasterOptions): Master {
  return new Master(() => resolveSettings('tsws-master', { overrides: options }));
}
