import { MAX_SCORE } from '../sdk-values';

// Normalize passes of the score plugins that rank nodes relative to each other.

/** A count where fewer is better on [0, 100] against the most any node has: 100 for none, 0 for the most. */
export function reverseScore(count: number, max: number): number {
  return max === 0 ? MAX_SCORE : Math.round(MAX_SCORE * (max - count) / max);
}

/** Maps counts where fewer is better onto [0, 100], 100 for the fewest. */
export function reverseNormalize(scores: Map<string, number>): void {
  let max = 0;
  for (const v of scores.values()) max = Math.max(max, v);
  for (const [k, v] of scores) scores.set(k, reverseScore(v, max));
}

/** Maps scores onto [0, 100] relative to the best one. */
export function defaultNormalize(scores: Map<string, number>): void {
  let max = 0;
  for (const v of scores.values()) max = Math.max(max, v);
  for (const [k, v] of scores) scores.set(k, max === 0 ? 0 : Math.round(MAX_SCORE * v / max));
}
