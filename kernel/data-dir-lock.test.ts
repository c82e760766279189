import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir } from './data-dir-lock';

let dir: string;
const children: ReturnType<typeof spawn>[] = [];
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kern-lock-')); });
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL'); // a failed test must not leave a holder running
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A child process holding the data dir's lock until it is killed. It drops
 * the handle and collects garbage first: the lock must not depend on the
 * handle (better-sqlite3 closes a collected connection, and that ended the
 * lock: this test failed now and then in CI before the lock kept its own
 * reference).
 */
async function holderProcess(): Promise<ReturnType<typeof spawn>> {
  const script = `const { lockDataDir } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'kernel', 'data-dir-lock.js'))});
lockDataDir(process.argv[1]); global.gc(); console.log('held'); setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['--expose-gc', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((ok, fail) => {
    child.stdout!.on('data', (d) => { if (String(d).includes('held')) ok(); });
    child.once('exit', (code) => fail(new Error(`the lock holder exited with ${code}`)));
  });
  return child;
}

describe('the data dir lock', () => {
  it('lets one holder in this process at a time, and the next after release', () => {
    const first = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(expect.objectContaining({ kind: 'Unavailable', message: expect.stringContaining('in use by another kernel') }));
    first.release();
    first.release(); // twice is harmless
    lockDataDir(dir).release();
  });

  it('holds against another process, and is gone the moment that process is killed', async () => {
    const child = await holderProcess();
    expect(() => lockDataDir(dir)).toThrow(expect.objectContaining({ message: expect.stringContaining('give this one another --data-dir') }));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    lockDataDir(dir).release();
  });
});
