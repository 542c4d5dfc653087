// The checks both commands make before anything starts, so that a mistake is one line and exit
// code 2 in `tsws` and `tsws-master` alike (and fails --check-config): an app is named, every
// bind parses, SO_REUSEPORT exists when asked for, and --user/--group name a real user and group
// that this process may switch to.
import { execFileSync } from 'node:child_process';
import { BindError, hasReusePort, parseBind } from '@tsws/core/bind';
import { SettingError } from './config.js';
import type { Settings } from './settings.js';

export interface Preflight {
  /** The uid and gid --user and --group name, when given. */
  uid: number | undefined;
  gid: number | undefined;
}

/** A user or group name as a number, through the system's own database (id(1), getent(1)). */
function lookup(kind: 'user' | 'group', value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  try {
    // stderr ignored: "id: 'x': no such user" is said once, below, in our words.
    const out =
      kind === 'user'
        ? execFileSync('id', ['-u', '--', value], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        : execFileSync('getent', ['group', value], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(
            ':',
          )[2];
    const id = Number.parseInt(String(out), 10);
    if (Number.isInteger(id)) return id;
  } catch {
    // not found: said below
  }
  throw new SettingError(`--${kind}: no such ${kind}: ${JSON.stringify(value)}`);
}

/** Throws SettingError with the first problem; changes nothing. */
export function preflight(
  settings: Pick<Settings, 'app' | 'bind' | 'reusePort' | 'scheduling' | 'user' | 'group'>,
  command: string,
): Preflight {
  if (!settings.app)
    throw new SettingError(
      `missing APP: name the app to serve as module:export, e.g. \`${command} app.js:app\` (see ${command} --help)`,
    );
  for (const bind of settings.bind) {
    try {
      parseBind(bind);
    } catch (err) {
      if (err instanceof BindError) throw new SettingError(`--bind: ${err.message}`);
      throw err;
    }
  }
  if ((settings.reusePort || settings.scheduling === 'reuseport') && !hasReusePort()) {
    const why = settings.reusePort ? '--reuse-port' : '--scheduling reuseport';
    throw new SettingError(
      `${why}: SO_REUSEPORT needs Node >= 22.12 or >= 23.1; this is Node ${process.versions.node}` +
        (settings.reusePort ? '' : ' (use --scheduling shared or rr)'),
    );
  }
  const uid = settings.user === undefined ? undefined : lookup('user', settings.user);
  const gid = settings.group === undefined ? undefined : lookup('group', settings.group);
  const changes =
    (uid !== undefined && uid !== process.getuid?.()) || (gid !== undefined && gid !== process.getgid?.());
  if (changes && process.getuid?.() !== 0) {
    const which = uid !== undefined ? 'user' : 'group';
    throw new SettingError(`--${which}: switching to another ${which} needs ${command} to run as root`);
  }
  return { uid, gid };
}
