// Seeded randomness for tests that must replay: one 32-bit seed in, the same numbers out.

/** mulberry32, the fuzzer's PRNG: a 32-bit state, numbers in [0, 1). */
export { prng as mulberry32 } from '../../bench/fuzz/fuzz.mjs';

/** A 32-bit seed from text (FNV-1a), from a number given as text, or a fresh one when undefined. */
export function seedOf(text: string | undefined): number {
  if (text === undefined || text === '') return (Math.random() * 2 ** 32) >>> 0;
  if (/^\d+$/.test(text)) return Number(text) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
