import { Logger, WorkQueue, silentLogger } from '@kern/sdk';

/** The longest timed wait before a key is synced again. */
export const MAX_REQUEUE_MS = 60 * 60 * 1000;

/** What one reconcile asks for next: run again after this many milliseconds. */
export interface SyncResult {
  requeueAfterMs?: number;
}

/**
 * A work queue wired to a reconcile function: keys queued by informer
 * handlers are synced one at a time per key, failures retried with back-off,
 * and a `requeueAfterMs` answer schedules the next timed run (deadlines,
 * TTLs, cron times).
 */
export class ControllerRunner {
  private readonly queue: WorkQueue<string>;
  private readonly logger: Logger;
  private readonly workers: number;

  constructor(
    private readonly name: string,
    private readonly sync: (key: string) => Promise<SyncResult>,
    options: { logger?: Logger; workers?: number; baseDelayMs?: number; maxDelayMs?: number } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.queue = new WorkQueue<string>({
      baseDelayMs: options.baseDelayMs ?? 50,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      onError: (key, error, failures) => this.logger.debug({ controller: this.name, key, failures, err: String(error) }, 'sync failed; retrying'),
    });
    this.workers = options.workers ?? 2;
  }

  start(): void {
    this.queue.start(async (key) => {
      const result = await this.sync(key);
      // Capped: timers past 2^31 ms fire at once, and an hourly look also
      // catches a clock that jumped.
      if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, Math.min(MAX_REQUEUE_MS, Math.max(1, result.requeueAfterMs)));
    }, this.workers);
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  stop(): Promise<void> {
    return this.queue.shutdown();
  }
}
