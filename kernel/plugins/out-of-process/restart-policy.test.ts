import { DEFAULT_RESTART_POLICY, restartDelayMs } from './restart-policy';

describe('restartDelayMs', () => {
  it.each([
    [1, 500], [2, 1000], [3, 2000], [4, 4000], [6, 16_000], [7, 30_000], [50, 30_000], [1000, 30_000],
  ])('attempt %i waits %i ms with the default policy', (attempt, ms) => {
    expect(restartDelayMs(attempt, DEFAULT_RESTART_POLICY)).toBe(ms);
  });

  it('follows the policy it is given', () => {
    expect(restartDelayMs(3, { initialDelayMs: 10, maxDelayMs: 25, resetAfterMs: 0 })).toBe(25);
  });
});
