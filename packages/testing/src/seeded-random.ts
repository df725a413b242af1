/**
 * A seeded pseudo-random generator (mulberry32) of numbers in [0, 1): the same seed gives the same
 * sequence, so a randomized test or soak that failed can be replayed from the seed it printed.
 * Small and fast, not for cryptography; a seed is taken as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * const seed = Number(process.env.MY_TEST_SEED ?? Date.now() % 2 ** 31);
 * const random = seededRandom(seed);
 * const delayMs = 10 + Math.floor(random() * 90); // the same on every run with this seed
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
