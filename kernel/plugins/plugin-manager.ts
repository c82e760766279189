import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import * as semver from 'semver';
import type { DependencyContainer } from 'tsyringe';
import { KernelError, Logger, PluginManifest, toKernelError } from '@kern/sdk';
import { KernelDriverRegistry } from '../drivers/driver-registry';
import { SyscallTable } from '../syscalls/syscall-table';
import { planActivation } from './dependency-graph';
import { DiscoveredPlugin, PluginSource, discoverPlugins } from './discovery';
import { abiCompatible, abiMismatch, displayPath, readManifest } from './manifest';
import { ActivePlugin, PluginHostOptions, activatePlugin, deactivatePlugin } from './plugin-host';
import { SupervisorStatus } from './out-of-process/driver-supervisor';

export interface PluginManagerOptions {
  /** The kernel's root container (a child of tsyringe's global one); each plugin gets a child of it. */
  root: DependencyContainer;
  drivers: KernelDriverRegistry;
  syscalls: SyscallTable;
  logger: Logger;
  /** Each plugin gets `<dataDir>/plugins/<id>`. */
  dataDir: string;
  /** KERNEL_ABI_VERSION from the sdk; checked against each plugin's `kern.kernelAbi`. */
  kernelVersion: string;
  /** Config section per plugin id; a plugin without one gets {}. */
  pluginConfig: Record<string, Record<string, unknown>>;
  /** Ids not to activate (shown as 'disabled'); default none. */
  disabled?: string[];
  /** How long a plugin's activate (and deactivate) may take; default 10 000 ms. */
  activationTimeoutMs?: number;
}

export type PluginState = 'discovered' | 'active' | 'failed' | 'inactive' | 'disabled';

/** What `kern plugin list` shows of one plugin. */
export interface PluginInfo {
  id: string;
  name: string;
  version: string;
  description: string;
  dir: string;
  state: PluginState;
  provides: { kind: string; name: string }[];
  requires: Record<string, string>;
  syscalls: string[];
  error?: string;
  builtin: boolean;
  /** For an out-of-process driver: its process (pid, state, restarts). */
  process?: SupervisorStatus;
}

interface PluginRecord {
  id: string;
  dir: string;
  builtin: boolean;
  name: string;
  version: string;
  description: string;
  manifest?: PluginManifest;
  state: PluginState;
  error?: KernelError;
  /** The failure cannot be fixed by retrying (bad manifest, ABI, duplicate id). */
  fatal: boolean;
  active?: ActivePlugin;
}

/**
 * Discovers, resolves, activates and deactivates plugins, and loads or
 * unloads them while the kernel runs. Plugins activate in dependency order
 * and deactivate in reverse. A plugin that fails is recorded with its error
 * (and so are the plugins that require it); it stops the caller only when
 * the caller asked for that plugin by id. Operations run one at a time.
 */
export class PluginManager {
  /** Plugins with a valid manifest, by id, in discovery order. */
  private readonly plugins = new Map<string, PluginRecord>();
  /** Packages refused before they had a usable id: bad manifests, duplicates. By dir. */
  private readonly rejected = new Map<string, PluginRecord>();
  /** Plugins that unload refuses, with why (see pin). */
  private readonly pinned = new Map<string, string>();
  /** Ids in the order they became active; deactivation walks it backwards. */
  private readonly activationOrder: string[] = [];
  private readonly disabled: Set<string>;
  private readonly host: PluginHostOptions;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: PluginManagerOptions) {
    this.disabled = new Set(opts.disabled ?? []);
    this.host = {
      root: opts.root,
      drivers: opts.drivers,
      syscalls: opts.syscalls,
      logger: opts.logger,
      dataDir: opts.dataDir,
      activationTimeoutMs: opts.activationTimeoutMs,
    };
  }

  /**
   * Scans `dirs` (each a plugin package or a directory of them, see
   * discoverPlugins) and records what it finds. Never throws for a bad
   * package: invalid manifests, ABI mismatches and duplicate ids come back
   * (and stay listed) as 'failed' with the error. A package already known
   * from the same directory is not a duplicate and is returned as is.
   */
  discover(dirs: { dir: string; builtin: boolean }[]): Promise<PluginInfo[]> {
    return this.serial(async () => {
      const found = discoverPlugins(dirs as PluginSource[]);
      const out: PluginInfo[] = [];
      for (const d of found) out.push(toInfo(this.record(d)));
      return out;
    });
  }

  /**
   * Activates `ids` and everything they require, or every discovered (or
   * deactivated) plugin when `ids` is absent, dependencies first. Plugins
   * that fail, and those requiring them, end up 'failed' with the reason.
   * Throws when one of `ids` does not end up active (NotFound for an
   * unknown id, FailedPrecondition for a disabled one, else its own error).
   * Named plugins that failed at activation before are retried.
   */
  activate(ids?: string[]): Promise<void> {
    return this.serial(async () => {
      if (ids) {
        for (const id of ids) {
          const rec = this.plugins.get(id);
          if (!rec) {
            const bad = this.rejectedById(id);
            if (bad) throw wrap(id, bad.error!);
            throw new KernelError('NotFound', `plugin ${id} not found; it was not discovered or loaded (kern plugin list shows what was)`, { code: 'KERN_ERR_PLUGIN_NOT_FOUND' });
          }
          if (rec.state === 'disabled') throw disabledError(id);
          if (rec.state === 'failed' && !rec.fatal) this.setState(rec, 'discovered');
        }
      }
      const roots = ids ?? [...this.plugins.values()].filter((r) => r.state === 'discovered' || r.state === 'inactive').map((r) => r.id);
      const plan = planActivation(this.nodes(), roots);
      for (const [id, err] of plan.problems) {
        const rec = this.plugins.get(id);
        if (rec && (rec.state === 'discovered' || rec.state === 'inactive')) this.fail(rec, err, false);
      }
      for (const id of plan.order) await this.activateOne(this.plugins.get(id)!);
      for (const id of ids ?? []) {
        const rec = this.plugins.get(id)!;
        if (rec.state !== 'active') throw wrap(id, rec.error ?? new KernelError('Internal', `plugin ${id} is ${rec.state}`));
      }
    });
  }

  /**
   * Loads and activates one plugin package while the kernel runs. Refused,
   * with nothing changed, for a bad manifest (Invalid), an id already known
   * and not failed or inactive (AlreadyExists), a disabled id, an ABI
   * mismatch, or a required plugin that is not active in a matching version
   * (FailedPrecondition). An activation failure is recorded (state 'failed')
   * and thrown.
   */
  load(dir: string): Promise<PluginInfo> {
    return this.serial(async () => {
      const real = realpath(resolve(dir));
      const manifest = readManifest(real);
      const id = manifest.id;
      const existing = this.plugins.get(id);
      if (existing && existing.state !== 'failed' && existing.state !== 'inactive') {
        throw new KernelError('AlreadyExists', `plugin ${id} is already ${existing.state === 'active' ? 'loaded' : existing.state} from ${displayPath(existing.dir)}; unload it first`,
          { field: 'kern.id', code: 'KERN_ERR_PLUGIN_DUPLICATE' });
      }
      if (this.disabled.has(id)) throw disabledError(id);
      if (!abiCompatible(manifest, this.opts.kernelVersion)) throw abiMismatch(manifest, this.opts.kernelVersion);
      for (const [dep, range] of Object.entries(manifest.requires)) {
        const d = this.plugins.get(dep);
        if (!d || d.state !== 'active') {
          throw new KernelError('FailedPrecondition', `plugin ${id} requires ${dep} ${range}, which is ${d ? d.state : 'not installed'}; load or activate ${dep} first`,
            { field: `kern.requires.${dep}`, code: 'KERN_ERR_PLUGIN_DEPENDENCY_INACTIVE' });
        }
        if (!semver.satisfies(d.version, range, { includePrerelease: true })) {
          throw new KernelError('FailedPrecondition', `plugin ${id} requires ${dep} ${range} but ${dep} ${d.version} is active`,
            { field: `kern.requires.${dep}`, code: 'KERN_ERR_PLUGIN_DEPENDENCY_VERSION' });
        }
      }
      this.rejected.delete(real);
      const rec = newRecord({ dir: real, builtin: false, id, manifest });
      this.plugins.delete(id); // a failed or inactive predecessor is replaced, and moves to the end
      this.plugins.set(id, rec);
      await this.activateOne(rec);
      if (rec.state !== 'active') throw wrap(id, rec.error!);
      return toInfo(rec);
    });
  }

  /**
   * Keeps a plugin loaded while the kernel runs: unload refuses it, saying
   * `why` (e.g. it provides the state store the kernel runs on).
   */
  pin(id: string, why: string): void {
    this.pinned.set(id, why);
  }

  /**
   * Deactivates (if active) and forgets a plugin. Refused with
   * FailedPrecondition for a pinned plugin and naming the active plugins
   * that require it; NotFound for an unknown id. Deactivation errors are
   * logged, not thrown: the plugin is gone either way.
   */
  unload(id: string): Promise<void> {
    return this.serial(async () => {
      const rec = this.plugins.get(id);
      const pinned = this.pinned.get(id);
      if (rec && pinned) {
        throw new KernelError('FailedPrecondition', `plugin ${id} ${pinned}, so it stays loaded while the kernel runs: stop the kernel to remove it`, { code: 'KERN_ERR_PLUGIN_PINNED' });
      }
      if (!rec) {
        const bad = [...this.rejected.entries()].filter(([, r]) => r.id === id);
        if (bad.length === 0) throw new KernelError('NotFound', `plugin ${id} not found`, { code: 'KERN_ERR_PLUGIN_NOT_FOUND' });
        for (const [dir] of bad) this.rejected.delete(dir);
        return;
      }
      const dependents = [...this.plugins.values()]
        .filter((r) => r.state === 'active' && r.manifest && id in r.manifest.requires)
        .map((r) => r.id);
      if (dependents.length > 0) {
        throw new KernelError('FailedPrecondition',
          `plugin ${id} is required by ${dependents.join(', ')}, which ${dependents.length > 1 ? 'are' : 'is'} active; unload ${dependents.length > 1 ? 'them' : 'it'} first`,
          { code: 'KERN_ERR_PLUGIN_REQUIRED' });
      }
      if (rec.active) await this.deactivateOne(rec);
      this.plugins.delete(id);
      this.opts.logger.info({ plugin: id }, `plugin ${id} unloaded`);
    });
  }

  /** Every plugin known, valid or not, with its state. */
  list(): PluginInfo[] {
    return [...this.plugins.values(), ...this.rejected.values()].map(toInfo);
  }

  get(id: string): PluginInfo | undefined {
    const rec = this.plugins.get(id) ?? this.rejectedById(id);
    return rec ? toInfo(rec) : undefined;
  }

  /** Deactivates every active plugin, last activated first. Errors are logged, not thrown. */
  deactivateAll(): Promise<void> {
    return this.serial(async () => {
      for (const id of [...this.activationOrder].reverse()) {
        const rec = this.plugins.get(id);
        if (rec?.active) await this.deactivateOne(rec);
      }
    });
  }

  private record(d: DiscoveredPlugin): PluginRecord {
    const log = this.opts.logger;
    if (d.error || !d.manifest) {
      const rec = newRecord(d);
      this.fail(rec, d.error ?? new KernelError('Invalid', `${d.dir}: not a plugin package`), true);
      this.rejected.set(d.dir, rec);
      return rec;
    }
    const existing = this.plugins.get(d.manifest.id);
    if (existing) {
      if (existing.dir === d.dir) return existing;
      const rec = newRecord(d);
      this.fail(rec, new KernelError('AlreadyExists',
        `duplicate plugin id ${d.manifest.id}: ${displayPath(d.dir)} declares the same kern.id as ${displayPath(existing.dir)}; remove one of them`,
        { field: 'kern.id', code: 'KERN_ERR_PLUGIN_DUPLICATE' }), true);
      this.rejected.set(d.dir, rec);
      return rec;
    }
    const rec = newRecord(d);
    this.plugins.set(rec.id, rec);
    if (this.disabled.has(rec.id)) {
      rec.state = 'disabled';
    } else if (!abiCompatible(d.manifest, this.opts.kernelVersion)) {
      this.fail(rec, abiMismatch(d.manifest, this.opts.kernelVersion), true);
    } else {
      log.debug({ plugin: rec.id, dir: rec.dir }, `plugin ${rec.id} discovered`);
    }
    return rec;
  }

  private async activateOne(rec: PluginRecord): Promise<void> {
    if (rec.state !== 'discovered' && rec.state !== 'inactive') return;
    const manifest = rec.manifest!;
    for (const dep of Object.keys(manifest.requires)) {
      const d = this.plugins.get(dep);
      if (d?.state === 'active') continue;
      const why = !d ? 'is not installed' : d.state === 'failed' ? 'failed' : d.state === 'disabled' ? 'is disabled' : 'is not active';
      this.fail(rec, new KernelError('FailedPrecondition', `plugin ${rec.id} requires ${dep} which ${why}`,
        { field: `kern.requires.${dep}`, code: 'KERN_ERR_PLUGIN_DEPENDENCY_FAILED' }), false);
      return;
    }
    const started = Date.now();
    try {
      rec.active = await activatePlugin(manifest, rec.dir, { ...(this.opts.pluginConfig[rec.id] ?? {}) }, this.host);
    } catch (e) {
      this.fail(rec, toKernelError(e), false, true);
      return;
    }
    this.setState(rec, 'active');
    this.activationOrder.push(rec.id);
    this.opts.logger.info({ plugin: rec.id, version: rec.version, ms: Date.now() - started }, `plugin ${rec.id} active`);
  }

  private async deactivateOne(rec: PluginRecord): Promise<void> {
    const active = rec.active!;
    try {
      await deactivatePlugin(active, this.host);
    } catch (e) {
      this.opts.logger.error({ plugin: rec.id, err: e }, `plugin ${rec.id} did not deactivate cleanly`);
    } finally {
      rec.active = undefined;
      this.setState(rec, 'inactive');
      const i = this.activationOrder.indexOf(rec.id);
      if (i >= 0) this.activationOrder.splice(i, 1);
    }
  }

  /**
   * Records and logs a failure. `ownFailure`: the plugin's own code failed
   * (its activation threw), so the log carries the error and its stack; a
   * bad manifest, ABI or dependency is its user's to fix, and the message
   * and field say how.
   */
  private fail(rec: PluginRecord, error: KernelError, fatal: boolean, ownFailure = false): void {
    rec.state = 'failed';
    rec.error = error;
    rec.fatal = fatal;
    const details = ownFailure ? { err: error } : { field: error.field };
    this.opts.logger.warn({ plugin: rec.id, dir: rec.dir, code: error.code, ...details }, `plugin ${rec.id} failed: ${error.message}`);
  }

  private setState(rec: PluginRecord, state: PluginState): void {
    rec.state = state;
    rec.error = undefined;
    rec.fatal = false;
  }

  private nodes(): { id: string; version: string; requires: Record<string, string> }[] {
    return [...this.plugins.values()].map((r) => ({ id: r.id, version: r.version, requires: r.manifest!.requires }));
  }

  private rejectedById(id: string): PluginRecord | undefined {
    return [...this.rejected.values()].find((r) => r.id === id);
  }

  /** Runs operations one at a time, so a load cannot interleave with an activate. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

function newRecord(d: Pick<DiscoveredPlugin, 'dir' | 'builtin' | 'id' | 'manifest' | 'name' | 'version' | 'description'>): PluginRecord {
  return {
    id: d.manifest?.id ?? d.id,
    dir: d.dir,
    builtin: d.builtin,
    name: d.manifest?.name ?? d.name ?? '',
    version: d.manifest?.version ?? d.version ?? '',
    description: d.manifest?.description ?? d.description ?? '',
    manifest: d.manifest,
    state: 'discovered',
    fatal: false,
  };
}

function toInfo(r: PluginRecord): PluginInfo {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    description: r.description,
    dir: r.dir,
    state: r.state,
    provides: (r.manifest?.provides ?? []).map((p) => ({ kind: p.kind, name: p.name })),
    requires: { ...(r.manifest?.requires ?? {}) },
    syscalls: [...(r.manifest?.syscalls ?? [])],
    ...(r.error ? { error: r.error.message } : {}),
    builtin: r.builtin,
    ...(r.active?.driverProcess?.() ? { process: r.active.driverProcess()! } : {}),
  };
}

function wrap(id: string, err: KernelError): KernelError {
  const message = err.message.includes(`plugin ${id}`) ? err.message : `plugin ${id}: ${err.message}`;
  return new KernelError(err.kind, message, { field: err.field, code: err.code, cause: err });
}

function disabledError(id: string): KernelError {
  return new KernelError('FailedPrecondition', `plugin ${id} is disabled in the kernel config; remove it from the disabled plugins to use it`,
    { code: 'KERN_ERR_PLUGIN_DISABLED' });
}

function realpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
