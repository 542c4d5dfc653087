// Types for wait.mjs.
export function sleep(ms: number): Promise<void>;
/** Polls `check` every 20 ms until it returns a truthy value, or throws after `timeoutMs` naming `what`. */
export function until<T>(what: string, check: () => T | Promise<T>, timeoutMs?: number): Promise<NonNullable<T>>;
