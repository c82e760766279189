/** What one operation of a committed batch came to. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Pending<Op, R> {
  op: Op;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit: write operations submitted while the event loop is busy are
 * committed together in one transaction at the next turn of the loop, so the
 * fixed cost of a commit (locks, WAL frames) is paid once per batch instead
 * of once per write. A lone write waits one `setImmediate`.
 *
 * `commit` runs a batch and reports each operation's outcome in order; when it
 * throws, every operation in the batch fails with that error.
 */
export class GroupCommit<Op, R> {
  private pending: Pending<Op, R>[] = [];
  private scheduled = false;

  constructor(private readonly commit: (ops: Op[]) => Outcome<R>[], private readonly maxBatch = 1000) {}

  get size(): number {
    return this.pending.length;
  }

  submit(op: Op): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything pending now (also used before closing). */
  flush(): void {
    this.scheduled = false;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      let outcomes: Outcome<R>[];
      try {
        outcomes = this.commit(batch.map((p) => p.op));
      } catch (error) {
        batch.forEach((p) => p.reject(error));
        continue;
      }
      batch.forEach((p, i) => {
        const o = outcomes[i];
        if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
    }
  }
}
