/**
 * `kern image import`, `kern run`, `kern logs`, `kern exec` and
 * `kern get -o wide` through the CLI against a kernel booted in-process on
 * the real Docker engine: a root filesystem made here (busybox plus one
 * file) becomes an image, a pod runs it, and the file comes back through
 * the pod's log and an exec.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { RUNTIME_LABELS, silentLogger } from '@kern/sdk';
import { Kernel } from '../../kernel/kernel';
import { createProgram } from '../../kernel/cli/program';
import { bootTestKernel, waitFor } from '../helpers/test-kernel';

jest.setTimeout(120_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const run = `${process.pid}-${Date.now().toString(36)}`;
const NODE = `image-import-${run}`;
const NAMESPACE = `image-import-${run}`;
const IMAGE = `kern-test/imported-${run}:1`;
const GREETING = `hello from an imported image ${run}`;
const home = mkdtempSync(join(tmpdir(), 'kern-image-import-'));
let kernel: Kernel | undefined;

interface Result { code: number; stdout: string; stderr: string }

async function kern(args: string[], stdin?: NodeJS.ReadableStream): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string | Uint8Array) => (stdout += s) },
    stderr: { write: (s: string | Uint8Array) => (stderr += s) },
    env: { KERN_HOME: home },
    stdin,
  };
  process.exitCode = 0;
  await createProgram(io).exitOverride().parseAsync(['node', 'kern', '--server', kernel!.endpoints!.http, '--token', kernel!.auth.adminToken, ...args]);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}


/** A root filesystem tarball: a static busybox and /hello.txt, nothing else. */
function rootfsTar(): string {
  const root = join(home, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  writeFileSync(join(root, 'hello.txt'), `${GREETING}\n`);
  const tar = join(home, 'rootfs.tar');
  execFileSync('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}

beforeAll(async () => {
  kernel = await bootTestKernel(home, NODE, silentLogger);
  await kernel.syscalls.handleFor('test', ['*']).call('state.create', { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
});

afterAll(async () => {
  try {
    if (kernel) {
      const sys = kernel.syscalls.handleFor('test', ['*']);
      await sys.call('state.delete', { kind: 'Pod', namespace: NAMESPACE, name: 'hello' }).catch(() => undefined);
      // Let the agent stop the pod's containers; whatever is left goes below.
      await waitFor('pod gone', async () => sys.call('state.get', { kind: 'Pod', namespace: NAMESPACE, name: 'hello' }).then(() => false, () => true), 20_000)
        .catch(() => undefined);
      await kernel.shutdown();
    }
  } finally {
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${RUNTIME_LABELS.node}=${NODE}`] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    await docker.getImage(IMAGE).remove({ force: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
});

it('imports a root filesystem tarball as an image', async () => {
  expect(await kern(['image', 'import', rootfsTar(), IMAGE])).toEqual({ code: 0, stdout: `image ${IMAGE} imported\n`, stderr: '' });
  const info = await docker.getImage(IMAGE).inspect();
  expect(info.RepoTags).toContain(IMAGE);
});

it('refuses data that is not a tarball, and makes no image', async () => {
  const bogus = join(home, 'not-a.tar');
  writeFileSync(bogus, 'this is not a tar archive\n'.repeat(100));
  const broken = `kern-test/broken-${run}:1`;
  const r = await kern(['image', 'import', bogus, broken]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: /);
  await expect(docker.getImage(broken).inspect()).rejects.toBeTruthy();
});

it('runs a pod from the imported image, with the file in its log and reachable by exec', async () => {
  // PID 1 ignores SIGTERM unless it traps it: without the trap every stop waits out the grace period.
  const script = `trap 'exit 0' TERM; /bin/busybox cat /hello.txt; /bin/busybox sleep 3600 & wait`;
  const created = await kern(['run', 'hello', '-n', NAMESPACE, '--image', IMAGE, '--memory', '64Mi', '--wait', '--command', '--', '/bin/busybox', 'sh', '-c', script]);
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(new RegExp(`^pod/hello created\\nNAME\\s+READY\\s+STATUS\\s+RESTARTS\\s+AGE\\s+IP\\s+NODE\\nhello\\s+\\d/1\\s+Running\\s+0\\s+\\S+\\s+\\S+\\s+${NODE}\\n$`));

  const logs = await waitFor('the greeting in the log', async () => {
    const r = await kern(['logs', 'hello', '-n', NAMESPACE]);
    return r.stdout.includes(GREETING) && r;
  });
  expect(logs).toEqual({ code: 0, stdout: `${GREETING}\n`, stderr: '' });
  expect((await kern(['logs', 'hello', '-n', NAMESPACE, '--tail', '0'])).stdout).toBe('');

  expect(await kern(['exec', 'hello', '-n', NAMESPACE, '--', '/bin/busybox', 'cat', '/hello.txt'])).toEqual({ code: 0, stdout: `${GREETING}\n`, stderr: '' });
  const piped = await kern(['exec', '-i', 'hello', '-n', NAMESPACE, '--', '/bin/busybox', 'sh', '-c', '/bin/busybox tr a-z A-Z; echo oops >&2; exit 4'],
    Readable.from([Buffer.from('shout\n')]));
  expect(piped).toEqual({ code: 4, stdout: 'SHOUT\n', stderr: 'oops\n' });

  const wide = await kern(['get', 'pods', '-n', NAMESPACE, '-o', 'wide']);
  expect(wide.stdout).toMatch(new RegExp(`^hello\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+\\d+\\.\\d+\\.\\d+\\.\\d+\\s+${NODE}$`, 'm'));
});
