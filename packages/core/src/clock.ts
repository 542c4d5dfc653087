// A coarse shared clock. One unref'd interval per process refreshes the cached Date header and
// sweeps every server's connection deadlines, so the request path never creates a timer; it only
// stores `clock.now + timeout`. Deadlines are therefore accurate to about TICK_MS.

export const TICK_MS = 500;

export const clock = {
  /** Milliseconds since the epoch, as of the last tick. */
  now: Date.now(),
  /** The `Date` header line for responses, with its CRLF. */
  dateLine: `Date: ${new Date().toUTCString()}\r\n`,
  /**
   * Ticks that came over a tick late (the event loop was blocked), counted: libuv could move no
   * bytes meanwhile, so a stall check waits for the loop to have run freely before it judges.
   */
  blocked: 0,
};

type Sweeper = (now: number) => void;
const sweepers = new Set<Sweeper>();
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  const now = Date.now();
  if (now - clock.now > 2 * TICK_MS) clock.blocked++;
  clock.now = now;
  clock.dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
  for (const sweep of sweepers) sweep(now);
}

export function addSweeper(sweep: Sweeper): void {
  sweepers.add(sweep);
  if (!timer) {
    tick();
    timer = setInterval(tick, TICK_MS);
    timer.unref();
  }
}

export function removeSweeper(sweep: Sweeper): void {
  sweepers.delete(sweep);
  if (sweepers.size === 0 && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}
