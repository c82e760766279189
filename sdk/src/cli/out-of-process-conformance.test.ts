import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isKernelError } from '../errors';
import { VolumeUnderTest } from '../testing/volume-conformance';
import { CONFORMANCE_NETNS_PREFIX, newNetnsSandbox, outOfProcessFactory } from './conformance-targets';

/**
 * `kern-sdk conformance network|volume --command`: the generic
 * out-of-process factory, the network namespaces it makes, and one real run
 * of the volume suite against test/fixtures/oop-volume-driver through the
 * compiled CLI (which needs `npx tsc -b` first, and root: the fixture
 * bind-mounts).
 */

const REPO = resolve(__dirname, '../../..');
const SDK_CLI = join(REPO, 'sdk/dist/cli/main.js');
const FIXTURE = join(REPO, 'test/fixtures/oop-volume-driver');
const isRoot = process.getuid?.() === 0;

function hasIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const netnsNames = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((line) => line.split(' ')[0]);

/**
 * `it` for a test that needs something of the machine: when it is missing
 * the test fails saying what (npm test builds first and runs as root), rather
 * than being skipped and hiding its result.
 */
function itWhen(missing: string | undefined, title: string, fn: () => Promise<void>, timeoutMs?: number): void {
  it(title, async () => {
    if (missing) throw new Error(`cannot run: ${missing}`);
    await fn();
  }, timeoutMs);
}

const netnsMissing = !isRoot ? 'needs root for ip netns' : !hasIp() ? 'ip (iproute2) is not installed' : undefined;
const buildMissing = !existsSync(SDK_CLI) ? `${SDK_CLI} is missing: run npx tsc -b first` : !isRoot ? 'needs root: the fixture bind-mounts' : undefined;

describe('out-of-process conformance factories', () => {
  it('the network factory needs a pod range', () => {
    let failure: unknown;
    try {
      outOfProcessFactory({ kind: 'network', command: ['node', 'x.js'], cwd: '/' });
    } catch (e) {
      failure = e;
    }
    expect(isKernelError(failure) && failure.kind).toBe('Invalid');
    expect((failure as Error).message).toMatch(/podCidr/);
  });

  itWhen(netnsMissing, 'newNetnsSandbox makes a network namespace of its own and its cleanup deletes just that one', async () => {
    const sandbox = await newNetnsSandbox();
    try {
      expect(sandbox.name.startsWith(CONFORMANCE_NETNS_PREFIX)).toBe(true);
      expect(sandbox.netnsPath).toBe(`/run/netns/${sandbox.name}`);
      expect(netnsNames()).toContain(sandbox.name);
      expect(existsSync(sandbox.netnsPath)).toBe(true);
    } finally {
      await sandbox.cleanup();
    }
    expect(netnsNames()).not.toContain(sandbox.name);
    await sandbox.cleanup(); // once only: does not touch a namespace of that name made since
  });

  describe('against the fixture volume driver (test/fixtures/oop-volume-driver)', () => {
    const command = [process.execPath, 'main.js'];

    itWhen(buildMissing, 'the factory refuses a process that serves another kind', async () => {
      const factory = outOfProcessFactory({ kind: 'network', podCidr: '10.88.0.0/16', command, cwd: FIXTURE });
      await expect(factory()).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('serves a volume driver, not a network driver') });
    }, 30_000);

    itWhen(buildMissing, 'the volume factory gives the suite a temporary base dir, removed by its cleanup', async () => {
      const target = await outOfProcessFactory({ kind: 'volume', command, cwd: FIXTURE })() as VolumeUnderTest;
      try {
        expect(existsSync(target.baseDir)).toBe(true);
        expect(await target.driver.capabilities()).toEqual({ readWriteMany: true, expand: false, snapshot: false });
      } finally {
        await target.cleanup();
      }
      expect(existsSync(target.baseDir)).toBe(false);
    }, 30_000);

    itWhen(buildMissing, 'kern-sdk conformance volume --command runs the volume suite against it and passes', async () => {
      const result = await new Promise<{ code: number | null; output: string }>((resolvePromise) => {
        const cli = spawn(process.execPath, [SDK_CLI, 'conformance', 'volume', FIXTURE, '--command', 'node main.js'], {
          cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        cli.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
        cli.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
        cli.once('exit', (code) => resolvePromise({ code, output }));
      });
      if (result.code !== 0) throw new Error(`kern-sdk conformance exited with ${result.code}:\n${result.output}`);
      expect(result.output).toContain('volume conformance: dirs');
      expect(result.output).toMatch(/Tests:\s+\d+ passed, \d+ total/);
      expect(result.output).not.toMatch(/failed|skipped/);
    }, 180_000);
  });
});
