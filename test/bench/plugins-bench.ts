/**
 * bench:plugins — the driver marketplace's costs, each beside a baseline
 * measured in the same run:
 *
 * 1. Install (resolve, download, verify, activate) of a plugin with 3
 *    dependencies from a local registry into a running kernel, with the
 *    real `kern plugin install`; baseline: the CLI's own start plus a plain
 *    download of the same 4 packages.
 * 2. Syscall round trip through an out-of-process driver (the raw-exec
 *    example served over its unix socket) against the same driver class
 *    called in process: calls/s, p50, p99.
 * 3. Kernel boot with every built-in plugin (`kern up` to its ready line,
 *    fresh data dir); baseline: starting `node` to its first output.
 *
 *   npm run bench:plugins [-- --calls 3000 --rounds 3]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ContainerInfo, RuntimeDriver, connectDriver } from '@kern/sdk';
import { FixturePlugin, addPublisher, makePackage, signPackage } from '../../registry/server/testing/registry-fixtures';
import { startRegistryServer } from '../../registry/server';
import { runKernCli } from '../helpers/kern-cli';
import { startKern } from '../helpers/kern-process';
import { percentile, printTable } from './stats';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const CALLS = arg('calls', 3000);
const ROUNDS = arg('rounds', 3);
const ROOT = resolve(__dirname, '..', '..', '..');
const RAW_EXEC_DIR = join(ROOT, 'sdk', 'examples', 'raw-exec');

type Row = (string | number)[];

function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

/** Runs the built CLI to its end: how long it took, in ms; fails with its output when it fails. */
async function kern(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const run = await runKernCli(args, { env: { ...process.env, ...env }, timeoutMs: 120_000 });
  if (run.code !== 0) throw new Error(`kern ${args.join(' ')} exited ${run.code}:\n${run.stdout}${run.stderr}`);
  return performance.now() - t0;
}

/** ms from spawning `node` to its first output, the floor under any CLI command. */
function nodeStartMs(): Promise<number> {
  const t0 = performance.now();
  return new Promise((ok) => {
    const child = spawn(process.execPath, ['-e', 'console.log("ready")'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.once('data', () => ok(performance.now() - t0));
  });
}

const PLUGIN_CODE = 'module.exports = { default: { activate() {} } };\n';

async function benchInstall(): Promise<Row[]> {
  const work = mkdtempSync(join(tmpdir(), 'kern-bench-plugins-'));
  const registry = await startRegistryServer({ dataDir: join(work, 'registry'), host: '127.0.0.1', port: 0 });
  const kernel = await startKern({ nodeName: `bench-plugins-${process.pid}` });
  try {
    const publisher = addPublisher(join(work, 'registry'), 'bench');
    const plugins: FixturePlugin[] = [
      { id: 'bench-lib-a', version: '1.0.0' },
      { id: 'bench-lib-b', version: '1.0.0' },
      { id: 'bench-lib-c', version: '1.0.0', requires: { 'bench-lib-a': '^1.0.0' } },
      { id: 'bench-app', version: '1.0.0', requires: { 'bench-lib-a': '^1.0.0', 'bench-lib-b': '^1.0.0', 'bench-lib-c': '^1.0.0' } },
    ];
    const files: string[] = [];
    for (const p of plugins) {
      const pkg = await makePackage(join(work, 'packages'), { ...p, code: PLUGIN_CODE });
      const sig = signPackage(pkg, publisher.keys);
      const res = await fetch(`${registry.url}/v1/plugins/${p.id}/${p.version}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${publisher.token}`, 'content-type': 'application/octet-stream', 'kern-signature-key-id': sig.keyId, 'kern-signature': sig.signature },
        body: readFileSync(pkg.file),
      });
      if (res.status !== 201) throw new Error(`publishing ${p.id}: ${res.status} ${await res.text()}`);
      files.push(`${registry.url}/v1/plugins/${p.id}/${p.version}/package`);
    }
    const env = { KERN_HOME: kernel.home, KERN_REGISTRY: registry.url };
    const pub = join(work, 'publisher.pub');
    writeFileSync(pub, publisher.keys.publicKeyPem);
    await kern(['plugin', 'trust', pub, '--data-dir', kernel.dataDir], env);

    const install: number[] = [];
    const cliStart: number[] = [];
    const download: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      install.push(await kern(['plugin', 'install', 'bench-app', '--data-dir', kernel.dataDir], env));
      for (const id of ['bench-app', 'bench-lib-c', 'bench-lib-b', 'bench-lib-a']) await kern(['plugin', 'remove', id, '--data-dir', kernel.dataDir], env);
      cliStart.push(await kern(['--client-version'], env));
      const t0 = performance.now();
      for (const url of files) await (await fetch(url)).arrayBuffer();
      download.push(performance.now() - t0);
    }
    return [
      ['kern plugin install (4 plugins: app + 3 deps), ms', median(install), Math.min(...install), Math.max(...install)],
      ['  baseline: kern CLI start (--client-version), ms', median(cliStart), Math.min(...cliStart), Math.max(...cliStart)],
      ['  baseline: plain download of the 4 packages, ms', median(download), Math.min(...download), Math.max(...download)],
    ];
  } finally {
    await kernel.stop();
    kernel.cleanup();
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Sequential calls of `fn`: calls/s, p50 and p99 in ms. */
async function timeCalls(fn: () => Promise<unknown>): Promise<[number, number, number]> {
  for (let i = 0; i < 200; i++) await fn(); // warm up
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const s = performance.now();
    await fn();
    samples.push(performance.now() - s);
  }
  const total = performance.now() - t0;
  samples.sort((a, b) => a - b);
  return [CALLS / (total / 1000), percentile(samples, 50), percentile(samples, 99)];
}

async function benchOutOfProcess(): Promise<Row[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'kern-bench-oop-'));
  const socket = join(stateDir, 'driver.sock');
  const child = spawn(process.execPath, [join(RAW_EXEC_DIR, 'dist', 'main.js')], {
    cwd: RAW_EXEC_DIR,
    env: { ...process.env, KERN_DRIVER_SOCKET: socket, KERN_PLUGIN_DATA_DIR: join(stateDir, 'state') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The same driver class in this process, over the same state dir.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { RawExecRuntimeDriver } = require(join(RAW_EXEC_DIR, 'dist', 'driver.js')) as { RawExecRuntimeDriver: new (o: { stateDir: string }) => RuntimeDriver & { prepare(): Promise<unknown> } };
  const local = new RawExecRuntimeDriver({ stateDir: join(stateDir, 'state') });
  let remote: Awaited<ReturnType<typeof connectDriver<RuntimeDriver>>> | undefined;
  try {
    await local.prepare();
    for (let i = 0; !remote; i++) {
      try {
        remote = await connectDriver<RuntimeDriver>(socket, { timeoutMs: 2000 });
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const sandbox = await remote.driver.createSandbox({ podUid: 'bench', podName: 'bench', podNamespace: 'default' });
    const id = await remote.driver.createContainer(sandbox.id, { name: 'main', image: 'host', command: ['sleep', '3600'] });
    await remote.driver.startContainer(id);
    const check = (c: ContainerInfo) => { if (c.state !== 'running') throw new Error(`container is ${c.state}`); };
    const rows: Row[] = [];
    for (const [what, call] of [
      ['inspectContainer', (d: RuntimeDriver) => d.inspectContainer(id).then(check)],
      ['info', (d: RuntimeDriver) => d.info()],
    ] as const) {
      const inProcess = await timeCalls(() => call(local));
      const outOfProcess = await timeCalls(() => call(remote!.driver));
      rows.push([`${what}: out of process (gRPC, unix socket)`, ...outOfProcess]);
      rows.push([`  baseline: ${what} in process`, ...inProcess]);
    }
    await remote.driver.removeContainer(id);
    await remote.driver.removeSandbox(sandbox.id);
    return rows;
  } finally {
    remote?.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function benchBoot(): Promise<Row[]> {
  const boot: number[] = [];
  const node: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    const k = await startKern({ nodeName: `bench-boot-${process.pid}-${round}` });
    boot.push(performance.now() - t0);
    await k.stop();
    k.cleanup();
    node.push(await nodeStartMs());
  }
  return [
    ['kern up to ready, all built-in plugins, fresh data dir, ms', median(boot), Math.min(...boot), Math.max(...boot)],
    ['  baseline: node start to first output, ms', median(node), Math.min(...node), Math.max(...node)],
  ];
}

async function main(): Promise<void> {
  const docker = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (docker.status !== 0) console.warn('warning: Docker is not answering; boot runs without the docker runtime');
  mkdirSync(tmpdir(), { recursive: true });

  console.log(`\nInstall (${ROUNDS} rounds)`);
  printTable([['what', 'median', 'min', 'max'], ...await benchInstall()]);

  console.log(`\nOut-of-process driver round trip (${CALLS} sequential calls each)`);
  printTable([['call', 'calls/s', 'p50 ms', 'p99 ms'], ...await benchOutOfProcess()]);
  console.log('target: out-of-process p99 < 2 ms');

  console.log(`\nKernel boot (${ROUNDS} rounds)`);
  printTable([['what', 'median', 'min', 'max'], ...await benchBoot()]);
  console.log('target: boot < 1 s');
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
