import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { recoverInterruptedSwaps, swapPaths } from './plugin-swap';

let tmp: string;
let root: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kern-swap-test-'));
  root = join(tmp, 'plugins-installed');
  mkdirSync(root);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function write(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

/** Every file under `dir` with its content: what "exactly the previous set" means. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/** a 1.0.0 and b 1.0.0 installed, a lock file; staged: a 2.0.0, c 1.0.0 and a new lock. */
function scene() {
  write(join(root, 'a/package.json'), 'a 1.0.0');
  write(join(root, 'a/dist/index.js'), 'old a');
  write(join(root, 'b/package.json'), 'b 1.0.0');
  write(join(tmp, 'plugins.lock.json'), 'old lock');
  const staging = join(root, '.staging-x');
  write(join(staging, 'a/package.json'), 'a 2.0.0');
  write(join(staging, 'c/package.json'), 'c 1.0.0');
  write(join(staging, 'plugins.lock.json'), 'new lock');
  const entries = [
    { target: join(root, 'a'), replacement: join(staging, 'a') },
    { target: join(root, 'c'), replacement: join(staging, 'c') },
    { target: join(tmp, 'plugins.lock.json'), replacement: join(staging, 'plugins.lock.json') },
  ];
  return { staging, entries };
}

const before = () => snapshot(tmp);

describe('swapPaths', () => {
  it('swaps every target in and drops the backup on commit', async () => {
    const { entries, staging } = scene();
    const swap = await swapPaths(root, entries);
    await swap.commit();
    rmSync(staging, { recursive: true, force: true });
    expect(snapshot(tmp)).toEqual({
      'plugins-installed/a/package.json': 'a 2.0.0',
      'plugins-installed/b/package.json': 'b 1.0.0',
      'plugins-installed/c/package.json': 'c 1.0.0',
      'plugins.lock.json': 'new lock',
    });
    expect(readdirSync(root).sort()).toEqual(['a', 'b', 'c']);
  });

  it('puts back exactly the previous set on rollback', async () => {
    const { entries, staging } = scene();
    const was = before();
    const swap = await swapPaths(root, entries);
    expect(readFileSync(join(root, 'a/package.json'), 'utf8')).toBe('a 2.0.0');
    await swap.rollback();
    rmSync(staging, { recursive: true, force: true });
    const staged = Object.keys(was).filter((k) => k.includes('.staging-'));
    for (const k of staged) delete was[k];
    expect(snapshot(tmp)).toEqual(was);
    expect(readdirSync(root).sort()).toEqual(['a', 'b']);
  });

  it.each([1, 2, 3, 4, 5])('restores the previous set when rename number %d fails', async (failAt) => {
    const { entries } = scene();
    const was = before();
    let calls = 0;
    const fs = {
      rename: async (from: string, to: string) => {
        if (++calls === failAt) throw Object.assign(new Error('EIO: injected failure'), { code: 'EIO' });
        await rename(from, to);
      },
    };
    await expect(swapPaths(root, entries, fs)).rejects.toThrow(/injected failure/);
    const after = snapshot(tmp);
    // The staged copies may have moved (and then gone); everything else is as it was.
    const settled = (s: Record<string, string>) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.includes('.staging-')));
    expect(settled(after)).toEqual(settled(was));
    expect(readdirSync(root).filter((n) => n.startsWith('.backup-'))).toEqual([]);
  });

  it('removes a target that has no replacement, and brings it back on rollback', async () => {
    write(join(root, 'a/package.json'), 'a 1.0.0');
    const swap = await swapPaths(root, [{ target: join(root, 'a') }]);
    expect(readdirSync(root).filter((n) => !n.startsWith('.'))).toEqual([]);
    await swap.rollback();
    expect(readFileSync(join(root, 'a/package.json'), 'utf8')).toBe('a 1.0.0');
  });
});

describe('recoverInterruptedSwaps', () => {
  it('rolls back a swap whose process died halfway, and clears staging dirs', async () => {
    const { entries } = scene();
    const was = before();
    let calls = 0;
    // The third move never finishes: as if the process was killed there.
    const fs = {
      rename: (from: string, to: string) => (++calls === 3 ? new Promise<void>(() => undefined) : rename(from, to)),
    };
    void swapPaths(root, entries, fs);
    for (let i = 0; i < 100 && calls < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(calls).toBe(3);
    expect(readdirSync(root).some((n) => n.startsWith('.backup-'))).toBe(true);

    const notes = await recoverInterruptedSwaps(root);
    expect(notes).toEqual([expect.stringMatching(/^rolled back an interrupted plugin change/)]);
    const settled = (s: Record<string, string>) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.includes('.staging-')));
    expect(snapshot(tmp)).toEqual(settled(was));
    expect(readdirSync(root).sort()).toEqual(['a', 'b']);
  });

  it('drops a committed backup left behind', async () => {
    mkdirSync(join(root, '.backup-old'));
    write(join(root, '.backup-old/0/package.json'), 'leftover');
    expect(await recoverInterruptedSwaps(root)).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });
});
