import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { isKernelError } from '../errors';
import { inProcessFactory } from './conformance-targets';
import { startDriverProcess } from './driver-process';
import { locateModule } from './locate-module';
import { ConformanceRunOptions, planConformance } from './run-conformance';

const MODULES = { testing: '/sdk/dist/testing/index.js', targets: '/sdk/dist/cli/conformance-targets.js' };

function failureOf(fn: () => unknown): { kind: string; field?: string; message: string } {
  try {
    fn();
  } catch (e) {
    return isKernelError(e) ? { kind: e.kind, field: e.field, message: e.message } : { kind: `not a KernelError: ${String(e)}`, message: '' };
  }
  return { kind: 'no error', message: '' };
}

describe('kern-sdk conformance', () => {
  const root = mkdtempSync(join(tmpdir(), 'kern-sdk-conformance-'));
  const plan = (options: Partial<ConformanceRunOptions>) => planConformance({ kind: 'runtime', target: root, ...options }, MODULES);

  /** A driver package whose built entry exports `source`. */
  async function driverPackage(name: string, source: string, pkg: Record<string, unknown> = {}): Promise<string> {
    const dir = join(root, name);
    await mkdir(join(dir, 'dist'), { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({
      name: `pkg-${name}`, main: 'dist/index.js', kern: { id: `runtime-${name}`, provides: [{ kind: 'runtime', name }] }, ...pkg,
    }));
    await writeFile(join(dir, 'dist', 'index.js'), source);
    return dir;
  }

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('planning', () => {
    it('in process: a test file that runs the kind\'s suite on the entry\'s createConformanceTarget', async () => {
      const dir = await driverPackage('good', 'exports.createConformanceTarget = async () => ({});');
      const planned = plan({ target: dir });
      expect(planned.jest).toMatch(/jest[\\/]bin[\\/]jest\.js$/);
      expect(planned.cwd).toBe(dir);
      expect(planned.transform).toEqual({});
      expect(planned.testFile).toContain(`require(${JSON.stringify(MODULES.testing)})`);
      expect(planned.testFile).toContain(`require(${JSON.stringify(join(dir, 'dist', 'index.js'))})`);
      expect(planned.testFile).toContain('testing.describeRuntimeConformance("good", targets.inProcessFactory(target,');
      expect(() => new Script(planned.testFile)).not.toThrow();
    });

    it('the suite is named after the manifest, and -t becomes jest\'s --testNamePattern', async () => {
      const dir = await driverPackage('named', 'module.exports = { default: { createConformanceTarget() {} } };',
        { kern: { id: 'store-x', provides: [{ kind: 'store', name: 'x-store' }] } });
      const planned = planConformance({ kind: 'store', target: dir, testNamePattern: 'watch' }, MODULES);
      expect(planned.testFile).toContain('testing.describeStoreConformance("x-store"');
      expect(planned.jestArgs).toEqual(['--testNamePattern', 'watch']);
    });

    it.each([
      ['network', 'describeNetworkConformance'],
      ['volume', 'describeVolumeConformance'],
      ['objectstore', 'describeObjectStoreConformance'],
    ])('in process: the %s kind runs %s', async (kind, describeFunction) => {
      const dir = await driverPackage(`kind-${kind}`, 'exports.createConformanceTarget = async () => ({});',
        { kern: { id: `${kind}-x`, provides: [{ kind, name: `x-${kind}` }] } });
      const planned = planConformance({ kind, target: dir }, MODULES);
      expect(planned.testFile).toContain(`testing.${describeFunction}("x-${kind}", targets.inProcessFactory(target,`);
      expect(() => new Script(planned.testFile)).not.toThrow();
    });

    it('out of process: a test file that starts the command and connects over the socket', async () => {
      const dir = await driverPackage('remote', '');
      const planned = plan({ target: dir, command: 'node "dist/main.js" --verbose', image: 'host', config: '{"a":1}' });
      expect(planned.testFile).toContain('testing.describeRuntimeConformance("remote", targets.outOfProcessFactory({');
      expect(planned.testFile).toContain('"kind": "runtime"');
      expect(planned.testFile).toContain('"command": [\n    "node",\n    "dist/main.js",\n    "--verbose"\n  ]');
      expect(planned.testFile).toContain('"image": "host"');
      expect(planned.testFile).toContain(`"cwd": ${JSON.stringify(dir)}`);
      expect(() => new Script(planned.testFile)).not.toThrow();
    });

    it('out of process, volume: the volume suite on the generic factory (no image; it makes the base dir)', async () => {
      const dir = await driverPackage('remote-volume', '', { kern: { id: 'volume-x', provides: [{ kind: 'volume', name: 'x-volume' }] } });
      const planned = planConformance({ kind: 'volume', target: dir, command: 'node dist/main.js', dataDir: 'data' }, MODULES);
      expect(planned.testFile).toContain('testing.describeVolumeConformance("x-volume", targets.outOfProcessFactory({');
      expect(planned.testFile).toContain('"kind": "volume"');
      expect(planned.testFile).toContain(`"dataDir": ${JSON.stringify(join(process.cwd(), 'data'))}`);
      expect(planned.testFile).not.toContain('"image"');
      expect(planned.testFile).not.toContain('"podCidr"');
      expect(() => new Script(planned.testFile)).not.toThrow();
    });

    it('out of process, network: the network suite on the generic factory with --pod-cidr', async () => {
      const dir = await driverPackage('remote-network', '', { kern: { id: 'network-x', provides: [{ kind: 'network', name: 'x-net' }] } });
      const planned = planConformance({ kind: 'network', target: dir, command: 'node dist/main.js', podCidr: ' 10.88.0.0/16 ' }, MODULES);
      expect(planned.testFile).toContain('testing.describeNetworkConformance("x-net", targets.outOfProcessFactory({');
      expect(planned.testFile).toContain('"kind": "network"');
      expect(planned.testFile).toContain('"podCidr": "10.88.0.0/16"');
      expect(planned.testFile).not.toContain('"image"');
      expect(() => new Script(planned.testFile)).not.toThrow();
      expect(planConformance({ kind: 'network', target: dir, command: 'node x.js', podCidr: 'fd00::/64' }, MODULES).testFile)
        .toContain('"podCidr": "fd00::/64"');
    });

    it('a TypeScript entry runs through ts-jest', async () => {
      const dir = await driverPackage('typed', '');
      await writeFile(join(dir, 'entry.ts'), 'export async function createConformanceTarget() { return {}; }');
      const planned = plan({ target: dir, entry: 'entry.ts' });
      expect(Object.keys(planned.transform)).toEqual(['\\.ts$']);
    });

    it.each<[string, Partial<ConformanceRunOptions>, string, string | undefined, RegExp]>([
      ['the objectstore suite out of process', { kind: 'objectstore', command: 'node dist/main.js' }, 'NotImplemented', undefined, /streams, which driver protocol version 1 does not carry/],
      ['the network suite out of process without --pod-cidr', { kind: 'network', command: 'node dist/main.js' }, 'Invalid', 'pod-cidr', /needs --pod-cidr/],
      ['a --pod-cidr that is not a range', { kind: 'network', command: 'node dist/main.js', podCidr: '10.88.0.0' }, 'Invalid', 'pod-cidr', /--pod-cidr "10\.88\.0\.0" is not a CIDR/],
      ['a --pod-cidr with a prefix too long', { kind: 'network', command: 'node dist/main.js', podCidr: '10.88.0.0/33' }, 'Invalid', 'pod-cidr', /not a CIDR/],
      ['an unknown kind', { kind: 'gpu' }, 'Invalid', 'KIND', /not a driver kind/],
      ['a directory without package.json', { target: '/nonexistent/driver' }, 'FailedPrecondition', 'target', /package\.json not found/],
      ['the store suite out of process', { kind: 'store', command: 'node dist/main.js' }, 'NotImplemented', undefined, /cannot run against a driver in another process/],
      ['an empty command', { command: '  ' }, 'Invalid', 'command', /must name the program/],
      ['a config that is not JSON', { command: 'node x.js', config: '{a' }, 'Invalid', 'config', /must be JSON/],
      ['a config that is not an object', { command: 'node x.js', config: '[1]' }, 'Invalid', 'config', /JSON object/],
    ])('%s fails with %s', async (_title, options, kind, field, message) => {
      const dir = await driverPackage('errors', '');
      const failure = failureOf(() => plan({ target: dir, ...options }));
      expect(failure).toMatchObject({ kind, ...(field ? { field } : {}) });
      expect(failure.message).toMatch(message);
    });

    it('an entry that is not built says to build it', async () => {
      const dir = await driverPackage('unbuilt', '', { main: 'dist/missing.js' });
      const failure = failureOf(() => plan({ target: dir }));
      expect(failure).toMatchObject({ kind: 'FailedPrecondition', field: 'entry' });
      expect(failure.message).toContain('npm run build');
    });

    it('an entry without createConformanceTarget says what to export', async () => {
      const dir = await driverPackage('no-export', 'exports.plugin = {};');
      const failure = failureOf(() => plan({ target: dir }));
      expect(failure).toMatchObject({ kind: 'Invalid', field: 'entry' });
      expect(failure.message).toContain('createConformanceTarget()');
    });

    it('a tool that cannot be found says how to install it', () => {
      const failure = failureOf(() => locateModule('no-such-tool-for-kern/bin/x', [root], 'npm i -D jest ts-jest @types/jest'));
      expect(failure.kind).toBe('FailedPrecondition');
      expect(failure.message).toContain('npm i -D jest ts-jest');
    });
  });

  describe('the factories the test files use', () => {
    it('inProcessFactory calls the module\'s createConformanceTarget, or explains what is missing', async () => {
      expect(await inProcessFactory({ createConformanceTarget: async () => 'target' }, 'm.js')()).toBe('target');
      expect(await inProcessFactory({ default: { createConformanceTarget: async () => 'from default' } }, 'm.js')()).toBe('from default');
      expect(failureOf(() => inProcessFactory({}, '/x/m.js'))).toMatchObject({ kind: 'Invalid', field: 'entry' });
    });

    it('startDriverProcess waits for the socket, passes the kernel\'s environment and stops the process', async () => {
      const dir = join(root, 'process');
      await mkdir(dir, { recursive: true });
      const script = join(dir, 'serve.js');
      await writeFile(script, [
        "const fs = require('node:fs');",
        "fs.writeFileSync(process.env.KERN_PLUGIN_DATA_DIR + '/seen.json', JSON.stringify({ config: process.env.KERN_PLUGIN_CONFIG }));",
        "require('node:net').createServer().listen(process.env.KERN_DRIVER_SOCKET);",
      ].join('\n'));
      const driver = await startDriverProcess({ command: [process.execPath, script], cwd: dir, socketPath: join(dir, 'd.sock'), dataDir: dir, config: { a: 1 } });
      const seen = JSON.parse(await readFile(join(dir, 'seen.json'), 'utf8'));
      expect(seen).toEqual({ config: '{"a":1}' });
      await driver.stop();
      expect(() => process.kill(driver.pid, 0)).toThrow();
    });

    it('startDriverProcess reports a command that exits before serving', async () => {
      let failure: unknown;
      try {
        await startDriverProcess({ command: [process.execPath, '-e', 'process.exit(3)'], cwd: root, socketPath: join(root, 'never.sock'), dataDir: root, config: {} });
      } catch (e) {
        failure = e;
      }
      expect(isKernelError(failure) && failure.kind).toBe('FailedPrecondition');
      expect((failure as Error).message).toContain('exited with code 3');
    });
  });
});
