import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { KernelError, errors } from '../errors';
import { DRIVER_KINDS } from '../plugin';
import { splitCommand } from './command-line';
import { conformanceTargetOf } from './conformance-export';
import { TestFileModules, inProcessTestFile, outOfProcessTestFile } from './conformance-test-file';
import { runsOutOfProcess } from '../oop/driver-methods';
import { ConformanceSuite, DRIVER_KIND_TEMPLATES } from './driver-kinds';
import { locateModule } from './locate-module';
import { checkDriverKind } from './names';

export interface ConformanceRunOptions {
  kind: string;
  /** The driver's package directory. */
  target: string;
  /** Out of process: the command that starts the driver (run in `target`). */
  command?: string;
  /** In process: the module exporting createConformanceTarget(); default the package's entry. */
  entry?: string;
  /** Out of process: the image the runtime suite runs. Default `kern/busybox:1`. */
  image?: string;
  /** Out of process, network: the range the driver hands pod addresses from (required). */
  podCidr?: string;
  /** Out of process: the driver's data dir; default a temporary one. */
  dataDir?: string;
  /** Out of process: the driver's config section, as JSON. */
  config?: string;
  /** Only tests whose name matches (jest's `-t`). */
  testNamePattern?: string;
}

/** What a run needs to start jest; worked out before anything is written. */
export interface ConformancePlan {
  jest: string;
  /** The generated test file's content. */
  testFile: string;
  /** jest's `transform` (ts-jest for a TypeScript entry; none for built JavaScript). */
  transform: Record<string, unknown>;
  cwd: string;
  jestArgs: string[];
}

interface PackageJson {
  name?: string;
  main?: string;
  kern?: { entry?: string; provides?: { kind?: string; name?: string }[] };
}

const DEFAULT_IMAGE = 'kern/busybox:1';
const INSTALL_HINT = 'install it in the driver project (npm i -D jest ts-jest @types/jest)';

/** This package's directory (sdk/), from src/cli or dist/cli. */
const SDK_DIR = resolve(__dirname, '..', '..');

/**
 * Checks the arguments and works out how to run the suite: the kind's
 * suite, the driver (in process from the package's entry, or out of
 * process from `command`), jest. Invalid, NotImplemented or
 * FailedPrecondition with what to do.
 */
export function planConformance(options: ConformanceRunOptions, modules: TestFileModules = ownModules()): ConformancePlan {
  const kind = checkDriverKind(options.kind);
  const suite = DRIVER_KIND_TEMPLATES[kind].suite;
  if (!suite) {
    const available = DRIVER_KINDS.filter((k) => DRIVER_KIND_TEMPLATES[k].suite).join(', ');
    throw errors.notImplemented(`the sdk has no conformance suite for ${kind} drivers yet (it has: ${available})`);
  }
  const cwd = resolve(options.target);
  const pkg = readPackageJson(cwd);
  const label = pkg.kern?.provides?.find((p) => p.kind === kind)?.name ?? pkg.name ?? basename(cwd);
  const jest = locateModule('jest/bin/jest', [cwd, process.cwd(), SDK_DIR], INSTALL_HINT);
  const jestArgs = options.testNamePattern ? ['--testNamePattern', options.testNamePattern] : [];

  if (options.command !== undefined) {
    return { jest, cwd, jestArgs, transform: {}, testFile: outOfProcessPlan(kind, suite, label, cwd, options, modules) };
  }
  const entry = resolve(cwd, options.entry ?? pkg.kern?.entry ?? pkg.main ?? 'index.js');
  if (!existsSync(entry)) {
    throw new KernelError('FailedPrecondition',
      `${entry} not found: build the driver first (npm run build), or name the module that exports createConformanceTarget() with --entry`,
      { field: 'entry' });
  }
  let transform: Record<string, unknown> = {};
  if (entry.endsWith('.ts')) {
    const tsJest = locateModule('ts-jest', [cwd, process.cwd(), SDK_DIR], INSTALL_HINT);
    const tsconfig = join(cwd, 'tsconfig.json');
    transform = { '\\.ts$': [tsJest, existsSync(tsconfig) ? { tsconfig } : {}] };
  } else {
    checkConformanceExport(entry);
  }
  return { jest, cwd, jestArgs, transform, testFile: inProcessTestFile(suite, label, entry, modules) };
}

/**
 * `kern-sdk conformance`: writes a temporary jest test file that runs the
 * kind's suite against the driver, runs jest on it with the terminal
 * attached, removes the file and resolves with jest's exit code.
 */
export async function runConformance(options: ConformanceRunOptions): Promise<number> {
  const plan = planConformance(options);
  const dir = await mkdtemp(join(tmpdir(), 'kern-conformance-'));
  try {
    const kind = checkDriverKind(options.kind);
    await writeFile(join(dir, `${kind}.conformance.test.js`), plan.testFile);
    const config = {
      rootDir: dir,
      roots: [dir],
      testMatch: ['**/*.conformance.test.js'],
      testEnvironment: 'node',
      transform: plan.transform,
      // The suites set their own per-test timeouts; this covers the factories.
      testTimeout: 120_000,
      watchman: false,
    };
    const configFile = join(dir, 'jest.config.json');
    await writeFile(configFile, JSON.stringify(config, null, 2));
    return await new Promise<number>((resolvePromise, reject) => {
      const jest = spawn(process.execPath, [plan.jest, '--config', configFile, '--runInBand', ...plan.jestArgs], { cwd: plan.cwd, stdio: 'inherit' });
      jest.once('error', (e) => reject(errors.internal(`cannot run jest (${plan.jest}): ${e.message}`, { cause: e })));
      jest.once('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function outOfProcessPlan(
  kind: string, suite: ConformanceSuite, label: string, cwd: string, options: ConformanceRunOptions, modules: TestFileModules,
): string {
  if (!runsOutOfProcess(kind)) {
    throw errors.notImplemented(`the ${kind} suite cannot run against a driver in another process yet ` +
      `(${suite.inProcessOnlyReason ?? 'driver protocol version 1 does not carry everything it calls'}); run it in process without --command`);
  }
  const command = splitCommand(options.command ?? '');
  if (command.length === 0) throw errors.invalid('command', 'must name the program that starts the driver, e.g. "node dist/main.js"');
  let config: Record<string, unknown> = {};
  if (options.config !== undefined) {
    try {
      config = JSON.parse(options.config) as Record<string, unknown>;
    } catch (e) {
      throw errors.invalid('config', `must be JSON: ${(e as Error).message}`);
    }
    if (!config || typeof config !== 'object' || Array.isArray(config)) throw errors.invalid('config', 'must be a JSON object');
  }
  return outOfProcessTestFile(suite, label, {
    kind, command, cwd, config,
    ...(kind === 'runtime' ? { image: options.image ?? DEFAULT_IMAGE } : {}),
    ...(kind === 'network' ? { podCidr: checkPodCidr(options.podCidr) } : {}),
    ...(options.dataDir ? { dataDir: resolve(options.dataDir) } : {}),
  }, modules);
}

/** The network suite's pod range: required out of process, `address/length`. */
function checkPodCidr(podCidr: string | undefined): string {
  if (podCidr === undefined || podCidr.trim() === '') {
    throw errors.invalid('pod-cidr',
      'the network suite out of process needs --pod-cidr, the range the driver hands pod addresses from (e.g. --pod-cidr 10.88.0.0/16)');
  }
  const [address, length, ...rest] = podCidr.trim().split('/');
  const bits = isIP(address) === 4 ? 32 : isIP(address) === 6 ? 128 : 0;
  if (!bits || rest.length > 0 || !/^\d+$/.test(length ?? '') || Number(length) > bits) {
    throw errors.invalid('pod-cidr', `--pod-cidr "${podCidr}" is not a CIDR range such as 10.88.0.0/16 or fd00::/64`);
  }
  return podCidr.trim();
}

function readPackageJson(dir: string): PackageJson {
  const file = join(dir, 'package.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new KernelError('FailedPrecondition', `${file} not found: TARGET must be the driver's package directory`, { field: 'target' });
  }
  try {
    return JSON.parse(text) as PackageJson;
  } catch (e) {
    throw errors.invalid('target', `${file} is not JSON: ${(e as Error).message}`);
  }
}

/** Loads the built entry once, so a missing export is reported here rather than as a failed jest suite. */
function checkConformanceExport(entry: string): void {
  let loaded: unknown;
  try {
    loaded = require(entry);
  } catch (e) {
    throw new KernelError('FailedPrecondition', `cannot load ${entry}: ${(e as Error).message}`, { field: 'entry', cause: e });
  }
  if (!conformanceTargetOf(loaded)) {
    throw errors.invalid('entry',
      `${entry} does not export createConformanceTarget(): export a function that returns the suite's target ` +
      '(see "Testing a driver" in the @kern/sdk README), or run the driver out of process with --command');
  }
}

/** The suites and factories of the kern-sdk that is running. */
function ownModules(): TestFileModules {
  return { testing: require.resolve('../testing'), targets: require.resolve('./conformance-targets') };
}
