import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import {
  Disposable, DriverRegistry, KernelError, Logger, PluginConfig, PluginContext, PluginDataDir, PluginDefinition,
  PluginManifest, Syscalls, resolveDriverCommand, toKernelError,
} from '@kern/sdk';
import { KernelDriverRegistry } from '../drivers/driver-registry';
import { SyscallTable } from '../syscalls/syscall-table';
import { isOutOfProcess } from './manifest';
import { SupervisorOptions, SupervisorStatus } from './out-of-process/driver-supervisor';
import { outOfProcessPlugin } from './out-of-process/out-of-process-plugin';

/** Default for {@link PluginHostOptions.activationTimeoutMs}: 10 s. */
export const DEFAULT_ACTIVATION_TIMEOUT_MS = 10_000;

export const ACTIVATION_TIMEOUT = 'KERN_ERR_PLUGIN_ACTIVATION_TIMEOUT';
export const ACTIVATION_FAILED = 'KERN_ERR_PLUGIN_ACTIVATION_FAILED';

/** Root-scoped services the host hands out (per plugin, limited views of them). */
export interface PluginHostOptions {
  root: DependencyContainer;
  drivers: KernelDriverRegistry;
  syscalls: SyscallTable;
  logger: Logger;
  dataDir: string;
  /** How long `activate` (and `deactivate`) may take; default 10 000 ms. */
  activationTimeoutMs?: number;
  /**
   * Supervision of out-of-process drivers (health checks, back-off); the
   * defaults of DEFAULT_SUPERVISOR_OPTIONS, except that the handshake must
   * come 2 s before the activation timeout.
   */
  outOfProcess?: Partial<SupervisorOptions>;
}

/** A running plugin: what {@link deactivatePlugin} needs to take it down. */
export interface ActivePlugin {
  readonly id: string;
  readonly dir: string;
  /** The entry module; for an out-of-process plugin, its command line. */
  readonly entryPath: string;
  readonly definition: PluginDefinition;
  readonly context: PluginContext;
  readonly container: DependencyContainer;
  /** Driver registrations made through `ctx.drivers`, undone on deactivation. */
  readonly driverRegistrations: Disposable[];
  /** Set once deactivation starts; the drivers view refuses new registrations after that. */
  closed: boolean;
  /** For an out-of-process plugin: its driver process (state, pid, restarts). */
  readonly driverProcess?: () => SupervisorStatus | undefined;
}

/**
 * How a plugin runs: its entry module loaded into the kernel, or its
 * `kern.command` started as a driver process (the command wins).
 */
export type PluginEntry =
  | { mode: 'in-process'; path: string }
  | { mode: 'out-of-process'; file: string; args: string[] };

// Under jest (or ts-node) the kernel runs from its .ts sources; plugins in
// this repo then load from theirs too, so tests need no prior build.
const RUNNING_FROM_SOURCE = __filename.endsWith('.ts');

/**
 * Activates one plugin: loads its entry module, builds its child container
 * and context, and runs `activate` under the timeout. On failure everything
 * made so far is undone and the error (DeadlineExceeded for a timeout) is
 * thrown; `deactivate` is not called for a plugin that never activated.
 * An out-of-process plugin (`kern.command`) gets the same context; its
 * `activate` starts and supervises the driver process and registers a proxy
 * (see outOfProcessPlugin), and its subscriptions stop it again.
 */
export async function activatePlugin(manifest: PluginManifest, dir: string, config: Record<string, unknown>, opts: PluginHostOptions): Promise<ActivePlugin> {
  const id = manifest.id;
  const timeoutMs = opts.activationTimeoutMs ?? DEFAULT_ACTIVATION_TIMEOUT_MS;
  const entry = resolveEntry(manifest, dir);
  const outOfProcess = entry.mode === 'out-of-process'
    ? outOfProcessPlugin(manifest, dir, { syscalls: opts.syscalls, supervisor: { startTimeoutMs: Math.max(1000, timeoutMs - 2000), ...opts.outOfProcess } })
    : undefined;
  const entryPath = entry.mode === 'in-process' ? entry.path : [entry.file, ...entry.args].join(' ');
  const definition = outOfProcess?.definition ?? loadDefinition(entryPath, manifest);

  const dataDir = join(opts.dataDir, 'plugins', id);
  mkdirSync(dataDir, { recursive: true });

  const container = opts.root.createChildContainer();
  const logger = opts.logger.child({ plugin: id });
  const syscalls = opts.syscalls.handleFor(`plugin:${id}`, manifest.syscalls);
  const driverRegistrations: Disposable[] = [];
  const scoped = opts.drivers.forPlugin(id);
  let active: ActivePlugin; // assigned below; the drivers view reads it lazily
  const drivers: DriverRegistry = {
    register: (kind, name, driver) => {
      if (active.closed) {
        throw new KernelError('FailedPrecondition', `plugin ${id} is not active; it cannot register ${kind} driver "${name}"`);
      }
      const reg = scoped.register(kind, name, driver);
      driverRegistrations.push(reg);
      return reg;
    },
    get: (kind, name) => scoped.get(kind, name),
    list: (kind) => scoped.list(kind),
  };
  const context: PluginContext = {
    manifest, container, config, dataDir, logger, syscalls, drivers, subscriptions: [],
  };
  active = {
    id, dir, entryPath, definition, context, container, driverRegistrations, closed: false,
    ...(outOfProcess ? { driverProcess: outOfProcess.status } : {}),
  };

  container.register(PluginContext as symbol, { useValue: context });
  container.register(PluginConfig as symbol, { useValue: config });
  container.register(PluginDataDir as symbol, { useValue: dataDir });
  container.register(Logger as symbol, { useValue: logger });
  container.register(Syscalls as symbol, { useValue: syscalls });
  container.register(DriverRegistry as symbol, { useValue: drivers });

  const running = Promise.resolve().then(() => definition.activate(context));
  let timedOut = false;
  try {
    await withTimeout(running, timeoutMs, () => {
      timedOut = true;
      return new KernelError('DeadlineExceeded',
        `plugin ${id} did not finish activating within ${timeoutMs} ms; make activate() return sooner (start long work in the background) or raise activationTimeoutMs`,
        { code: ACTIVATION_TIMEOUT });
    });
  } catch (e) {
    active.closed = true;
    await cleanUp(active, logger);
    // A timed-out activate may still finish later; undo whatever it adds then.
    if (timedOut) running.then(() => cleanUp(active, logger), () => cleanUp(active, logger));
    throw activationError(id, e);
  }
  return active;
}

/**
 * Deactivates one plugin: drops its driver registrations, disposes
 * `ctx.subscriptions` in reverse order, calls `deactivate` (under the same
 * timeout), then disposes the child container. Every step runs even when an
 * earlier one fails; the first error is thrown at the end.
 */
export async function deactivatePlugin(active: ActivePlugin, opts: Pick<PluginHostOptions, 'activationTimeoutMs'> = {}): Promise<void> {
  const timeoutMs = opts.activationTimeoutMs ?? DEFAULT_ACTIVATION_TIMEOUT_MS;
  const { id, context } = active;
  active.closed = true;
  const errors: unknown[] = [];
  await disposeAll(active.driverRegistrations, errors);
  await disposeAll(context.subscriptions, errors);
  if (active.definition.deactivate) {
    try {
      await withTimeout(Promise.resolve().then(() => active.definition.deactivate!(context)), timeoutMs,
        () => new KernelError('DeadlineExceeded', `plugin ${id} did not finish deactivating within ${timeoutMs} ms`, { code: ACTIVATION_TIMEOUT }));
    } catch (e) {
      errors.push(e);
    }
  }
  try {
    await disposeContainer(active.container);
  } catch (e) {
    errors.push(e);
  }
  forgetModules(active.dir);
  if (errors.length > 0) {
    const first = toKernelError(errors[0]);
    throw new KernelError(first.kind, `plugin ${id} did not deactivate cleanly: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : ''}`, { code: first.code, cause: errors[0] });
  }
}

/**
 * How the plugin runs. With `kern.command`, out of process: that program
 * and its arguments (see resolveDriverCommand). Otherwise the entry module's
 * absolute path: `kern.entry`, else package.json `main`, else `index.js`;
 * when the kernel runs from source and the entry is a build output
 * (`dist/x.js`) whose source (`src/x.ts`) exists, the source.
 */
export function resolveEntry(manifest: PluginManifest, dir: string): PluginEntry {
  if (isOutOfProcess(manifest)) return { mode: 'out-of-process', ...resolveDriverCommand(manifest.command!, dir) };
  return { mode: 'in-process', path: resolveEntryModule(manifest, dir) };
}

function resolveEntryModule(manifest: PluginManifest, dir: string): string {
  const entry = manifest.entry ?? 'index.js';
  const abs = resolve(dir, entry);
  if (RUNNING_FROM_SOURCE) {
    const m = /^dist[\\/](.+)\.js$/.exec(relative(dir, abs));
    const source = m ? join(dir, 'src', `${m[1]}.ts`) : undefined;
    if (source && existsSync(source)) return source;
  }
  try {
    return require.resolve(abs);
  } catch (e) {
    throw new KernelError('FailedPrecondition',
      `plugin ${manifest.id}: entry ${entry} not found in ${dir}; build the plugin (npx tsc -b) or fix kern.entry / main in its package.json`,
      { field: 'kern.entry', code: 'KERN_ERR_PLUGIN_ENTRY_NOT_FOUND', cause: e });
  }
}

function loadDefinition(entryPath: string, manifest: PluginManifest): PluginDefinition {
  let mod: { default?: unknown; plugin?: unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    mod = require(entryPath);
  } catch (e) {
    throw new KernelError('FailedPrecondition', `plugin ${manifest.id}: loading ${entryPath} failed: ${(e as Error)?.message ?? String(e)}`,
      { code: 'KERN_ERR_PLUGIN_ENTRY_LOAD', cause: e });
  }
  const def = (mod?.default ?? mod?.plugin) as Partial<PluginDefinition> | undefined;
  if (!def || typeof def.activate !== 'function') {
    throw new KernelError('Invalid', `plugin ${manifest.id}: ${entryPath} must export its PluginDefinition as \`default\` or \`plugin\` (an object with an activate function; see definePlugin in @kern/sdk)`,
      { field: 'kern.entry', code: 'KERN_ERR_PLUGIN_ENTRY_INVALID' });
  }
  if (def.deactivate !== undefined && typeof def.deactivate !== 'function') {
    throw new KernelError('Invalid', `plugin ${manifest.id}: deactivate exported by ${entryPath} must be a function`, { field: 'kern.entry', code: 'KERN_ERR_PLUGIN_ENTRY_INVALID' });
  }
  return def as PluginDefinition;
}

function activationError(id: string, e: unknown): KernelError {
  const err = toKernelError(e);
  if (err.code === ACTIVATION_TIMEOUT) return err;
  // Keep the plugin's own kind (Unavailable, Invalid, ...) but say where it came from.
  return new KernelError(err.kind, `plugin ${id} failed to activate: ${err.message}`,
    { field: err.field, code: err.kind === 'Internal' ? ACTIVATION_FAILED : err.code, cause: e });
}

async function cleanUp(active: ActivePlugin, logger: Logger): Promise<void> {
  const errors: unknown[] = [];
  await disposeAll(active.driverRegistrations, errors);
  await disposeAll(active.context.subscriptions, errors);
  try {
    await disposeContainer(active.container);
  } catch (e) {
    errors.push(e);
  }
  for (const e of errors) logger.warn({ err: e }, 'error while undoing a failed activation');
}

const disposedContainers = new WeakSet<DependencyContainer>();

// tsyringe would dispose the instances a second time; a late cleanup must not.
async function disposeContainer(c: DependencyContainer): Promise<void> {
  if (disposedContainers.has(c)) return;
  disposedContainers.add(c);
  await c.dispose();
}

/** Disposes in reverse order and empties the list; errors are collected, not thrown. */
async function disposeAll(list: Disposable[], errors: unknown[]): Promise<void> {
  while (list.length > 0) {
    const d = list.pop()!;
    try {
      await d?.dispose();
    } catch (e) {
      errors.push(e);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Drops the plugin's modules from Node's require cache so a later load of
 * the same directory runs the new code. (Jest keeps its own registry; this
 * is a no-op there.)
 */
function forgetModules(dir: string): void {
  const cache = require.cache as Record<string, unknown> | undefined;
  if (!cache) return;
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  try {
    for (const key of Object.keys(cache)) {
      if (key.startsWith(prefix) && !key.slice(prefix.length).split(sep).includes('node_modules')) delete cache[key];
    }
  } catch {
    // a read-only cache (some test runners) is fine: nothing to forget
  }
}
