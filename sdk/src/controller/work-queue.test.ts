import { isErrorKind } from '../errors';
import { WorkQueue, WorkQueueOptions, exponentialBackoff } from './work-queue';

/** Lets promise chains (and unfaked setImmediate) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Timers and Date are faked; microtasks and setImmediate stay real so promises settle. */
function useFakeTimers(): void {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
}

describe('exponentialBackoff', () => {
  it.each([
    [0, 5, 1000, 0],
    [1, 5, 1000, 5],
    [2, 5, 1000, 10],
    [3, 5, 1000, 20],
    [8, 5, 1000, 640],
    [9, 5, 1000, 1000],
    [50, 5, 1000, 1000],
    [5000, 5, 1_000_000, 1_000_000],
    [3, 0, 100, 0],
  ])('failures=%i base=%i max=%i -> %i ms', (failures, base, max, want) => {
    expect(exponentialBackoff(failures, base, max)).toBe(want);
  });
});

describe('WorkQueue', () => {
  let queues: WorkQueue<string>[] = [];
  const make = (options?: WorkQueueOptions<string>) => {
    const q = new WorkQueue<string>(options);
    queues.push(q);
    return q;
  };

  afterEach(async () => {
    await Promise.all(queues.map((q) => q.shutdown()));
    queues = [];
    jest.useRealTimers();
  });

  it.each<[string, () => unknown, string]>([
    ['negative baseDelayMs', () => new WorkQueue({ baseDelayMs: -1 }), 'Invalid'],
    ['maxDelayMs below baseDelayMs', () => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 5 }), 'Invalid'],
    ['negative maxRetries', () => new WorkQueue({ maxRetries: -1 }), 'Invalid'],
    ['zero concurrency', () => make().start(async () => undefined, 0), 'Invalid'],
    ['fractional concurrency', () => make().start(async () => undefined, 1.5), 'Invalid'],
    ['start twice', () => { const q = make(); q.start(async () => undefined); q.start(async () => undefined); }, 'FailedPrecondition'],
    ['start after shutdown', () => { const q = make(); void q.shutdown(); q.start(async () => undefined); }, 'FailedPrecondition'],
  ])('refuses %s', (_name, fn, kind) => {
    let thrown: unknown;
    try { fn(); } catch (e) { thrown = e; }
    expect(isErrorKind(thrown, kind as never)).toBe(true);
  });

  it('queues a key once however often it is added, in first-added order', async () => {
    const q = make();
    for (const k of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(k);
    expect(q.length).toBe(3);
    const seen: string[] = [];
    q.start(async (k) => { seen.push(k); });
    await settle();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(q.length).toBe(0);
  });

  it('never hands one key to two workers, and re-queues a key added while it runs', async () => {
    const q = make();
    const active = new Map<string, number>();
    let maxActiveForKey = 0;
    const runs: string[] = [];
    const gates: (() => void)[] = [];
    q.start(async (k) => {
      const n = (active.get(k) ?? 0) + 1;
      active.set(k, n);
      maxActiveForKey = Math.max(maxActiveForKey, n);
      runs.push(k);
      const gate = deferred();
      gates.push(gate.resolve);
      await gate.promise;
      active.set(k, (active.get(k) ?? 1) - 1);
    }, 4);

    q.add('a');
    await settle();
    expect(runs).toEqual(['a']);
    q.add('a'); // while running: queued once more, not started
    q.add('a');
    await settle();
    expect(runs).toEqual(['a']);
    expect(q.length).toBe(0); // waiting for its run to end, not for a worker

    gates.shift()?.();
    await settle();
    expect(runs).toEqual(['a', 'a']);
    gates.shift()?.();
    await settle();
    expect(runs).toEqual(['a', 'a']);
    expect(maxActiveForKey).toBe(1);
  });

  it.each([1, 2, 5])('runs at most %i different keys at once', async (concurrency) => {
    const q = make();
    let active = 0;
    let maxActive = 0;
    const gates: (() => void)[] = [];
    q.start(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      const gate = deferred();
      gates.push(gate.resolve);
      await gate.promise;
      active -= 1;
    }, concurrency);
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(k);
    for (let i = 0; i < 6; i++) {
      await settle();
      gates.shift()?.();
    }
    await settle();
    expect(maxActive).toBe(Math.min(concurrency, 6));
  });

  it('backs off exponentially up to the cap while a key keeps failing', async () => {
    useFakeTimers();
    const q = make({ baseDelayMs: 10, maxDelayMs: 40 });
    const start = Date.now();
    const at: number[] = [];
    q.start(async () => {
      at.push(Date.now() - start);
      throw new Error('boom');
    });
    q.add('a');
    for (let t = 0; t < 150; t++) await jest.advanceTimersByTimeAsync(1);
    // delays 10, 20, 40, 40, ...
    expect(at).toEqual([0, 10, 30, 70, 110, 150]);
    expect(q.retries('a')).toBe(6);
  });

  it('resets the back-off after a success', async () => {
    useFakeTimers();
    const q = make({ baseDelayMs: 10, maxDelayMs: 1000 });
    const outcomes = ['fail', 'fail', 'ok', 'fail', 'ok'];
    const start = Date.now();
    const runs: Array<[number, number]> = []; // [ms since start, retries when run]
    q.start(async (k) => {
      runs.push([Date.now() - start, q.retries(k)]);
      if (outcomes.shift() === 'fail') throw new Error('boom');
    });
    q.add('a');
    await jest.advanceTimersByTimeAsync(100);
    expect(q.retries('a')).toBe(0);
    q.add('a'); // at 100: fails, and is retried after the base delay again
    await jest.advanceTimersByTimeAsync(100);
    expect(runs).toEqual([[0, 0], [10, 1], [30, 2], [100, 0], [110, 1]]);
    expect(q.retries('a')).toBe(0);
  });

  it('forget resets the failure count that sets the next delay (a pending retry still fires)', async () => {
    useFakeTimers();
    const q = make({ baseDelayMs: 10, maxDelayMs: 1000 });
    const start = Date.now();
    const at: number[] = [];
    q.start(async () => {
      at.push(Date.now() - start);
      throw new Error('boom');
    });
    q.add('a');
    await jest.advanceTimersByTimeAsync(35); // runs at 0, 10, 30; next due at 70
    expect(q.retries('a')).toBe(3);
    q.forget('a');
    expect(q.retries('a')).toBe(0);
    await jest.advanceTimersByTimeAsync(50);
    expect(at).toEqual([0, 10, 30, 70, 80]); // after 70 the delay is the base again
  });

  it.each<[string, Array<[number, number]>, number]>([
    ['keeps the earlier of two delays (later asked second)', [[10, 0], [100, 0]], 10],
    ['keeps the earlier of two delays (earlier asked second)', [[100, 0], [10, 0]], 10],
    ['adds at once for a zero delay', [[0, 0]], 0],
    ['adds at once for a negative delay', [[-5, 0]], 0],
  ])('addAfter %s', async (_name, calls, due) => {
    useFakeTimers();
    const q = make();
    for (const [delay] of calls) q.addAfter('a', delay);
    if (due > 0) {
      await jest.advanceTimersByTimeAsync(due - 1);
      expect(q.length).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
    }
    expect(q.length).toBe(1);
    await jest.advanceTimersByTimeAsync(200);
    expect(q.length).toBe(1); // the other timer (if any) did not queue it twice
  });

  it.each([
    [0, 1],
    [2, 3],
  ])('drops a key after maxRetries=%i (handler runs %i times) and reports it', async (maxRetries, runs) => {
    useFakeTimers();
    const onDrop = jest.fn();
    const onError = jest.fn();
    const q = make({ baseDelayMs: 1, maxDelayMs: 1, maxRetries, onDrop, onError });
    let calls = 0;
    q.start(async () => {
      calls += 1;
      throw new Error(`failure ${calls}`);
    });
    q.add('a');
    await jest.advanceTimersByTimeAsync(50);
    expect(calls).toBe(runs);
    expect(onError).toHaveBeenCalledTimes(runs);
    expect(onDrop).toHaveBeenCalledTimes(1);
    expect(onDrop).toHaveBeenCalledWith('a', expect.objectContaining({ message: `failure ${runs}` }), runs);
    expect(q.retries('a')).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('treats a handler that throws synchronously as a failure, and survives throwing callbacks', async () => {
    const q = make({ baseDelayMs: 0, maxRetries: 1, onError: () => { throw new Error('bad logger'); } });
    let calls = 0;
    q.start(((k: string) => {
      calls += 1;
      if (k === 'a') throw new Error('sync');
      return Promise.resolve();
    }) as (k: string) => Promise<void>);
    q.add('a');
    q.add('b');
    for (let i = 0; i < 5; i++) await settle();
    expect(calls).toBe(3); // a, b, a again (maxRetries 1), then a is dropped
  });

  it('shutdown waits for in-flight runs, drops queued keys and leaves no timers', async () => {
    useFakeTimers();
    const q = make({ baseDelayMs: 1000 });
    const gate = deferred();
    const seen: string[] = [];
    q.start(async (k) => {
      seen.push(k);
      if (k === 'slow') await gate.promise;
    });
    q.add('slow');
    await jest.advanceTimersByTimeAsync(0);
    q.add('queued-behind');
    q.addAfter('delayed', 500);
    q.addRateLimited('limited');
    expect(jest.getTimerCount()).toBe(2);

    let done = false;
    const stopping = q.shutdown().then(() => { done = true; });
    expect(q.isShuttingDown).toBe(true);
    expect(q.shutdown()).toBe(q.shutdown());
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);

    q.add('after-shutdown');
    q.addAfter('after-shutdown', 10);
    q.addRateLimited('after-shutdown');
    expect(q.length).toBe(0);
    expect(jest.getTimerCount()).toBe(0);

    gate.resolve();
    await stopping;
    expect(done).toBe(true);
    expect(seen).toEqual(['slow']);
  });

  it('shuts down at once when never started', async () => {
    const q = make();
    q.add('a');
    await expect(q.shutdown()).resolves.toBeUndefined();
    expect(q.length).toBe(0);
  });
});
