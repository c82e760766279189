import { hostCpuTimes, percentile, stealShare } from './stats';

describe('bench stats', () => {
  it('takes nearest-rank percentiles of a sorted list', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('reads this machine\'s CPU time from /proc/stat, growing as time passes', async () => {
    const a = hostCpuTimes();
    await new Promise((r) => setTimeout(r, 50));
    const b = hostCpuTimes();
    expect(a.total).toBeGreaterThan(0);
    expect(b.total).toBeGreaterThan(a.total);
    expect(b.steal).toBeGreaterThanOrEqual(a.steal);
  });

  it('gives the stolen share of the CPU time between two readings', () => {
    expect(stealShare({ total: 1000, steal: 10 }, { total: 1400, steal: 50 })).toBeCloseTo(0.1);
    expect(stealShare({ total: 1000, steal: 10 }, { total: 1000, steal: 10 })).toBe(0);
  });
});
