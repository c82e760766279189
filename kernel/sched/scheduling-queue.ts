/** How long a pod waits after its n-th failed attempt: 1 s doubling to 10 s (as kube-scheduler). */
export function podBackoffMs(attempts: number, initialMs = 1000, maxMs = 10_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempts - 1));
}

interface Entry {
  key: string;
  priority: number;
  /** Arrival order: older first among equal priorities. */
  seq: number;
}

export interface SchedulingQueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Unschedulable pods are retried at least this often even without a cluster event. Default 30 s. */
  unschedulableFlushMs?: number;
}

/**
 * The pending pods: activeQ (a heap by priority, then age), a back-off
 * queue for pods that just failed, and the unschedulable set that waits for
 * a cluster event (node added or changed, pod deleted) to move them back.
 */
export class SchedulingQueue {
  private readonly heap: Entry[] = [];
  private readonly inActive = new Map<string, Entry>();
  private readonly backoff = new Map<string, { entry: Entry; readyAt: number }>();
  private readonly unschedulable = new Map<string, { entry: Entry; since: number }>();
  private readonly attempts = new Map<string, number>();
  private readonly lastFailure = new Map<string, number>();
  private seq = 0;
  /** Bumped on every cluster event that may help unschedulable pods. */
  private moveCycle = 0;
  private waiter: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly flushMs: number;

  constructor(options: SchedulingQueueOptions = {}) {
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.flushMs = options.unschedulableFlushMs ?? 30_000;
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), Math.min(200, this.initialBackoffMs));
    this.timer.unref?.();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.wake();
  }

  get size(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.inActive.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  has(key: string): boolean {
    return this.inActive.has(key) || this.backoff.has(key) || this.unschedulable.has(key);
  }

  /** A new or changed pending pod: into activeQ (out of back-off/unschedulable too when `force`). */
  add(key: string, priority: number, force = true): void {
    const active = this.inActive.get(key);
    if (active) {
      if (active.priority !== priority) { this.removeFromHeap(key); this.push({ ...active, priority }); }
      return;
    }
    if (!force && (this.backoff.has(key) || this.unschedulable.has(key))) return;
    const prev = this.backoff.get(key)?.entry ?? this.unschedulable.get(key)?.entry;
    this.backoff.delete(key);
    this.unschedulable.delete(key);
    this.push({ key, priority, seq: prev?.seq ?? this.seq++ });
  }

  /** The pod is gone or bound elsewhere. */
  delete(key: string): void {
    if (this.inActive.has(key)) this.removeFromHeap(key);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
    this.attempts.delete(key);
    this.lastFailure.delete(key);
  }

  /** The current move cycle; pass it to {@link addUnschedulable} to catch events that raced with the attempt. */
  get cycle(): number {
    return this.moveCycle;
  }

  /**
   * A failed attempt. When a cluster event arrived since `cycleAtPop` (or
   * `error`), the pod goes to back-off; otherwise it waits in the
   * unschedulable set for the next event.
   */
  addUnschedulable(key: string, priority: number, cycleAtPop: number, error = false): void {
    if (this.inActive.has(key)) return;
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    const now = Date.now();
    this.lastFailure.set(key, now);
    const entry: Entry = { key, priority, seq: this.seq++ };
    if (error || this.moveCycle !== cycleAtPop) {
      this.backoff.set(key, { entry, readyAt: now + this.backoffMs(key) });
    } else {
      this.unschedulable.set(key, { entry, since: now });
    }
  }

  /** A success: forget the attempts. */
  done(key: string): void {
    this.attempts.delete(key);
    this.lastFailure.delete(key);
  }

  /** A cluster event: every unschedulable pod goes to back-off (or straight to activeQ when its back-off is over). */
  moveAllToActiveOrBackoff(): void {
    this.moveCycle++;
    const now = Date.now();
    for (const [key, { entry }] of this.unschedulable) {
      this.unschedulable.delete(key);
      const readyAt = (this.lastFailure.get(key) ?? 0) + this.backoffMs(key);
      if (readyAt <= now) this.push(entry);
      else this.backoff.set(key, { entry, readyAt });
    }
  }

  /** The next pod to schedule when one is ready now; undefined when none is (or once closed). */
  tryPop(): string | undefined {
    return this.closed ? undefined : this.heapPop()?.key;
  }

  /** The next pod to schedule, highest priority first; undefined once closed. */
  async pop(): Promise<string | undefined> {
    while (!this.closed) {
      const e = this.heapPop();
      if (e) return e.key;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
    return undefined;
  }

  private backoffMs(key: string): number {
    return podBackoffMs(this.attempts.get(key) ?? 1, this.initialBackoffMs, this.maxBackoffMs);
  }

  private flush(): void {
    const now = Date.now();
    for (const [key, { entry, readyAt }] of this.backoff) {
      if (readyAt <= now) { this.backoff.delete(key); this.push(entry); }
    }
    for (const [key, { entry, since }] of this.unschedulable) {
      if (now - since >= this.flushMs) { this.unschedulable.delete(key); this.push(entry); }
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  // A binary heap; removal is lazy through the inActive map.
  private push(e: Entry): void {
    this.inActive.set(e.key, e);
    this.heap.push(e);
    let i = this.heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(this.heap[i], this.heap[p])) break;
      [this.heap[i], this.heap[p]] = [this.heap[p], this.heap[i]];
      i = p;
    }
    this.wake();
  }

  private removeFromHeap(key: string): void {
    this.inActive.delete(key);
  }

  private heapPop(): Entry | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < this.heap.length && before(this.heap[l], this.heap[m])) m = l;
          if (r < this.heap.length && before(this.heap[r], this.heap[m])) m = r;
          if (m === i) break;
          [this.heap[i], this.heap[m]] = [this.heap[m], this.heap[i]];
          i = m;
        }
      }
      // stale heap entries (removed or re-prioritised) are skipped
      if (this.inActive.get(top.key) === top) {
        this.inActive.delete(top.key);
        return top;
      }
    }
    return undefined;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}
