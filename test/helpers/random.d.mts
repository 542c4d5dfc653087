// Types for random.mjs.
/** mulberry32: a 32-bit state, numbers in [0, 1). */
export function mulberry32(seed: number): () => number;
/** A 32-bit seed from text (FNV-1a), from a number given as text, or a fresh one when undefined. */
export function seedOf(text: string | undefined): number;
