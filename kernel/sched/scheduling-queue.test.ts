import { SchedulingQueue, podBackoffMs } from './scheduling-queue';

describe('SchedulingQueue', () => {
  it.each([[1, 1000], [2, 2000], [3, 4000], [4, 8000], [5, 10_000], [9, 10_000]])('back-off after %i attempts is %i ms', (n, ms) => {
    expect(podBackoffMs(n)).toBe(ms);
  });

  it('pops by priority, then age', async () => {
    const q = new SchedulingQueue();
    q.add('low', 0);
    q.add('high', 10);
    q.add('low2', 0);
    expect([await q.pop(), await q.pop(), await q.pop()]).toEqual(['high', 'low', 'low2']);
    q.close();
  });

  it('tryPop takes what is ready now without waiting, and nothing once closed', () => {
    const q = new SchedulingQueue();
    expect(q.tryPop()).toBeUndefined();
    q.add('a', 0);
    q.add('b', 5);
    expect([q.tryPop(), q.tryPop(), q.tryPop()]).toEqual(['b', 'a', undefined]);
    q.add('c', 0);
    q.close();
    expect(q.tryPop()).toBeUndefined();
  });

  it('keeps unschedulable pods until a cluster event, then backs them off', async () => {
    const q = new SchedulingQueue({ initialBackoffMs: 20, maxBackoffMs: 40 });
    q.start();
    q.add('p', 0);
    await q.pop();
    q.addUnschedulable('p', 0, q.cycle);
    expect(q.size).toEqual({ active: 0, backoff: 0, unschedulable: 1 });
    q.add('p', 0, false); // a status-only update does not move it
    expect(q.size.unschedulable).toBe(1);
    q.moveAllToActiveOrBackoff();
    expect(q.size.unschedulable).toBe(0);
    expect(await q.pop()).toBe('p');
    q.close();
  });
});
