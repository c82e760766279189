/** When a crashed out-of-process driver is started again. */
export interface RestartPolicy {
  /** Wait before the first restart after a crash, in ms. Default 500. */
  initialDelayMs: number;
  /** The wait doubles with each failure in a row up to this, in ms. Default 30 000. */
  maxDelayMs: number;
  /** A driver healthy this long starts over at the initial delay when it next fails, in ms. Default 60 000. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, resetAfterMs: 60_000 };

/** The wait before restart number `attempt` (1 for the first after a healthy run): initial × 2^(attempt−1), capped. */
export function restartDelayMs(attempt: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): number {
  if (attempt <= 1) return policy.initialDelayMs;
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
}
