/**
 * Crash-loop back-off per container, as the kubelet does it: 10 s after the
 * first crash, doubling to 5 min, and forgotten once a run lasted 10 min.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A run at least this long resets the back-off. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

interface Entry { delayMs: number; notBefore: number; instanceId: string }

export class RestartBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF, private readonly now: () => number = Date.now) {}

  /**
   * Records that container instance `instanceId` of `key` exited at
   * `exitedAt` after running `ranMs`, once per instance however often it is
   * called. Returns the time before which it must not be restarted.
   */
  recordExit(key: string, instanceId: string, ranMs: number, exitedAt: number): number {
    const prev = this.entries.get(key);
    if (prev?.instanceId === instanceId) return prev.notBefore;
    const base = !prev || ranMs >= this.policy.resetAfterMs ? 0 : prev.delayMs;
    const delayMs = base === 0 ? this.policy.initialMs : Math.min(base * 2, this.policy.maxMs);
    const entry = { delayMs, notBefore: exitedAt + delayMs, instanceId };
    this.entries.set(key, entry);
    return entry.notBefore;
  }

  /** Milliseconds left before `key` may restart (0 = now). */
  remaining(key: string): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.notBefore - this.now()) : 0;
  }

  forget(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
