// What the master counts over its life: spawns, respawns by cause, reloads, and every worker's
// requests (added from heartbeat increments). The master owns these totals, so they survive a
// worker's death and every reload; `tsws-ctl show stats`, /metrics and StatsD read them.
import { RequestTotals } from '@tsws/worker/internal';
import type { ReplaceReason } from './workers.js';

/** Why a worker was replaced: its own end (crash, timeout, killed on request) or a limit or reload. */
export const RESPAWN_CAUSES = [
  'crash',
  'timeout',
  'killed',
  'max-requests',
  'max-memory',
  'lifetime',
  'reload',
] as const;
export type RespawnCause = (typeof RESPAWN_CAUSES)[number];

const BY_REASON: Record<ReplaceReason, RespawnCause> = {
  reload: 'reload',
  'max-requests': 'max-requests',
  'max-worker-memory': 'max-memory',
  'max-worker-lifetime': 'lifetime',
};

export class Counters {
  /** Wall-clock start, for uptime. */
  readonly startedAt = Date.now();
  spawns = 0;
  readonly respawns: Record<RespawnCause, number> = Object.fromEntries(RESPAWN_CAUSES.map((c) => [c, 0])) as Record<
    RespawnCause,
    number
  >;
  readonly reloads = { ok: 0, abandoned: 0 };
  readonly requests = new RequestTotals();

  respawn(cause: RespawnCause | ReplaceReason): void {
    this.respawns[(BY_REASON as Record<string, RespawnCause>)[cause] ?? (cause as RespawnCause)]++;
  }
}
