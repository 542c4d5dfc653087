// Seeded randomness for what must replay (the fuzzer, the soak, the corpus's random splits): one
// 32-bit seed in, the same numbers out. Plain JS, so bench/'s long runs import it too.

/** mulberry32: a 32-bit state, numbers in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from text (FNV-1a), from a number given as text, or a fresh one when undefined. */
export function seedOf(text) {
  if (text === undefined || text === '') return (Math.random() * 2 ** 32) >>> 0;
  if (/^\d+$/.test(text)) return Number(text) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
