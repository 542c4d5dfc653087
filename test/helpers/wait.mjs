// Waiting, for the tests and bench/'s long runs (plain JS, so those import it too): a pause, and
// polling until something holds (never a fixed sleep standing in for an event one can watch for).

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 20 ms until it returns a truthy value, or throws after `timeoutMs` naming `what`. */
export async function until(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
