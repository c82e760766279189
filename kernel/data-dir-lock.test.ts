import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir } from './data-dir-lock';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kern-lock-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A child process holding the data dir's lock until it is killed. */
async function holderProcess(): Promise<ReturnType<typeof spawn>> {
  const script = `const { lockDataDir } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'kernel', 'data-dir-lock.js'))});
lockDataDir(process.argv[1]); console.log('held'); setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout!.once('data', r));
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
