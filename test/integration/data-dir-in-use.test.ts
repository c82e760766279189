/**
 * A second kernel on a data dir another kernel holds is turned away at once,
 * by the data dir's lock, before it opens the store or starts anything, even
 * with its Unix socket off; the lock is given back at shutdown. (A kernel
 * that was killed leaves no lock: test/e2e/kill-restart.test.ts restarts
 * after SIGKILL, and data-dir-lock.test.ts kills a holder.)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@kern/sdk';
import { Kernel } from '../../kernel/kernel';
import { agentlessKernelConfig } from '../helpers/test-kernel';

jest.setTimeout(60_000);

const home = mkdtempSync(join(tmpdir(), 'kern-dd-'));
const dataDir = join(home, 'data');
const config = () => agentlessKernelConfig(home);

afterAll(() => rmSync(home, { recursive: true, force: true }));

it('refuses a second kernel on a data dir in use, naming the way out, and leaves the first serving', async () => {
  const first = await Kernel.boot(config(), silentLogger);
  try {
    const socket = join(dataDir, 'kern.sock');
    expect(first.endpoints?.socket).toBe(socket);
    // Turned away before anything starts (a late refusal by the listener would say the same).
    const start = jest.spyOn(Kernel.prototype as unknown as { start(): Promise<void> }, 'start');
    await expect(Kernel.boot(config(), silentLogger)).rejects.toMatchObject({
      kind: 'Unavailable', message: expect.stringContaining('give this one another --data-dir'),
    });
    expect(start).not.toHaveBeenCalled();
    start.mockRestore();
    expect(existsSync(socket)).toBe(true);
    const health = await fetch(`${first.endpoints!.http}/healthz`);
    expect(health.status).toBe(200);
  } finally {
    await first.shutdown();
  }
  expect(existsSync(join(dataDir, 'kern.sock'))).toBe(false);
  // Given back: the data dir boots again, here with no socket at all.
  const next = await Kernel.boot(agentlessKernelConfig(home, { http: { host: '127.0.0.1', port: 0, socket: '' } }), silentLogger);
  await expect(Kernel.boot(agentlessKernelConfig(home, { http: { host: '127.0.0.1', port: 0, socket: '' } }), silentLogger))
    .rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining('in use by another kernel') });
  await next.shutdown();
});
