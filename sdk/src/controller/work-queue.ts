import { errors } from '../errors';

/**
 * Defaults of {@link WorkQueueOptions}: the same curve as client-go's
 * per-item rate limiter (5 ms doubling per failure, capped at 1000 s).
 */
export const WORK_QUEUE_DEFAULTS = {
  baseDelayMs: 5,
  maxDelayMs: 1_000_000,
  concurrency: 1,
} as const;

/**
 * The delay before retry number `failures` (1 for the first failure):
 * `baseMs * 2^(failures - 1)`, never more than `maxMs`, 0 when `failures`
 * is 0 or less. Deterministic (no jitter), so tests can rely on it.
 */
export function exponentialBackoff(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  // 2^1023 is the largest finite power; anything past the cap is the cap.
  const delay = baseMs * 2 ** Math.min(failures - 1, 1023);
  return Number.isFinite(delay) ? Math.min(delay, maxMs) : maxMs;
}

/** Back-off, retry limit and reporting of a {@link WorkQueue}; every field is optional. */
export interface WorkQueueOptions<K> {
  /** Delay after the first failure of a key; doubles with each further one. Default 5 ms. */
  baseDelayMs?: number;
  /** Upper bound of the per-key back-off. Default 1 000 000 ms (1000 s). */
  maxDelayMs?: number;
  /**
   * How many times a failing key is retried before it is dropped: with 3, the
   * handler runs at most 4 times in a row for one key; with 0, a failure drops
   * the key at once. Default: unlimited (retry with back-off forever).
   */
  maxRetries?: number;
  /**
   * Called after every failed handler run, with the key's consecutive
   * failure count (1 for the first). For logging; must not throw.
   */
  onError?: (key: K, error: unknown, failures: number) => void;
  /**
   * Called once when a key is dropped because it failed more than
   * `maxRetries` times in a row; its back-off is forgotten. Must not throw.
   */
  onDrop?: (key: K, error: unknown, failures: number) => void;
}

/** Reconciles one key; a rejection (or throw) means "retry with back-off". */
export type WorkQueueHandler<K> = (key: K) => Promise<void>;

/**
 * A de-duplicating, rate-limited queue of keys, the heart of a controller
 * (after client-go's workqueue). Keys are compared like `Map` keys
 * (SameValueZero), so use strings such as {@link controllerKey} or other
 * primitives.
 *
 * Contract:
 * - A key added while it is already queued is queued once.
 * - A key is never handed to two workers at once: a key added while it is
 *   being processed is queued again after that run finishes.
 * - Keys are handed out in the order they were (first) queued.
 * - {@link WorkQueue.start} runs the handler on up to `concurrency` keys at a
 *   time. Success calls {@link WorkQueue.forget}; failure calls
 *   {@link WorkQueue.addRateLimited}, or drops the key after `maxRetries`.
 * - {@link WorkQueue.shutdown} stops handing out keys, cancels every delayed
 *   add, drops queued keys and resolves when in-flight runs are over. No
 *   timer is left behind; later adds are ignored.
 */
export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  /** Keys that need a run: queued, or re-added while processing. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<K, number>();
  private readonly waiters: (() => void)[] = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private workers: Promise<void>[] | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: WorkQueueOptions<K> = {}) {
    this.baseDelayMs = options.baseDelayMs ?? WORK_QUEUE_DEFAULTS.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? WORK_QUEUE_DEFAULTS.maxDelayMs;
    if (!(this.baseDelayMs >= 0)) throw errors.invalid('baseDelayMs', 'must be a number of milliseconds, 0 or more');
    if (!(this.maxDelayMs >= this.baseDelayMs)) throw errors.invalid('maxDelayMs', 'must be at least baseDelayMs');
    if (options.maxRetries !== undefined && !(options.maxRetries >= 0)) {
      throw errors.invalid('maxRetries', 'must be 0 or more (leave it out to retry forever)');
    }
  }

  /** Keys waiting for a worker (not those being processed or waiting on a delay). */
  get length(): number {
    return this.queue.length;
  }

  /** True once {@link WorkQueue.shutdown} was called. */
  get isShuttingDown(): boolean {
    return this.stopping !== undefined;
  }

  /** Queues `key` unless it is queued already; ignored after shutdown. */
  add(key: K): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again when its run is done
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  /**
   * Queues `key` after `delayMs` (at once when 0 or less). When the key is
   * already waiting on a delay, the earlier of the two times wins.
   */
  addAfter(key: K, delayMs: number): void {
    if (this.stopping) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  /**
   * Counts a failure of `key` and queues it after its back-off:
   * `baseDelayMs * 2^(failures - 1)`, capped at `maxDelayMs`.
   */
  addRateLimited(key: K): void {
    if (this.stopping) return;
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    this.addAfter(key, exponentialBackoff(n, this.baseDelayMs, this.maxDelayMs));
  }

  /** Resets the back-off of `key` (a pending delayed add still fires). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** Consecutive failures counted for `key` since it was last forgotten. */
  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Starts `concurrency` workers (default 1) that run `handler` on queued
   * keys until {@link WorkQueue.shutdown}. Keys added before `start` are
   * processed too. Fails with FailedPrecondition when already started or
   * shut down.
   */
  start(handler: WorkQueueHandler<K>, concurrency: number = WORK_QUEUE_DEFAULTS.concurrency): void {
    if (this.stopping) throw errors.failedPrecondition('work queue is shut down: make a new one');
    if (this.workers) throw errors.failedPrecondition('work queue already started: call start once');
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw errors.invalid('concurrency', 'must be a whole number, 1 or more');
    }
    this.workers = Array.from({ length: concurrency }, () => this.work(handler));
  }

  /**
   * Stops the queue: no key is handed out any more, delayed adds are
   * cancelled, queued keys are dropped. Resolves when every run in flight has
   * finished. Idempotent; every call returns the same promise.
   */
  shutdown(): Promise<void> {
    if (!this.stopping) {
      for (const { timer } of this.delayed.values()) clearTimeout(timer);
      this.delayed.clear();
      this.queue.length = 0;
      this.dirty.clear();
      this.waiters.splice(0).forEach((wake) => wake());
      this.stopping = Promise.all(this.workers ?? []).then(() => undefined);
    }
    return this.stopping;
  }

  private async work(handler: WorkQueueHandler<K>): Promise<void> {
    for (;;) {
      const next = await this.next();
      if (!next) return;
      const key = next.key;
      try {
        await handler(key);
        this.forget(key);
      } catch (err) {
        this.failed(key, err);
      } finally {
        this.done(key);
      }
    }
  }

  /** The next key, marked as processing; undefined once shutting down. */
  private async next(): Promise<{ key: K } | undefined> {
    for (;;) {
      if (this.stopping) return undefined;
      if (this.queue.length > 0) {
        const key = this.queue.shift() as K;
        this.dirty.delete(key);
        this.processing.add(key);
        return { key };
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private failed(key: K, err: unknown): void {
    const failures = this.retries(key) + 1;
    quietly(() => this.options.onError?.(key, err, failures));
    if (this.options.maxRetries !== undefined && failures > this.options.maxRetries) {
      this.forget(key);
      quietly(() => this.options.onDrop?.(key, err, failures));
      return;
    }
    this.addRateLimited(key);
  }

  private done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.stopping) {
      this.queue.push(key);
      this.waiters.shift()?.();
    }
  }
}

/** Callbacks are for logging; one that throws must not kill a worker. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // ignored on purpose: see WorkQueueOptions.onError / onDrop
  }
}
