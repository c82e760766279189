import type { DependencyContainer } from 'tsyringe';
import { Logger } from './logger';
import { Syscalls } from './syscalls';
import { Disposable, Token, createToken } from './tokens';

/** The driver kinds the design names. */
export type DriverKind = 'store' | 'runtime' | 'network' | 'volume' | 'objectstore';
export const DRIVER_KINDS: readonly DriverKind[] = ['store', 'runtime', 'network', 'volume', 'objectstore'];

/**
 * The `kern` section of a plugin's package.json. Name, version and
 * description come from the package.json itself.
 */
export interface PluginManifestSection {
  /** Plugin id, kebab-case (`store-sqlite`). */
  id: string;
  /** Semver range of the kernel ABI it was built for, e.g. `^1.0.0`. */
  kernelAbi: string;
  /** Drivers and services it registers. */
  provides?: { kind: DriverKind | string; name: string }[];
  /** Other plugins (by id) it needs, with semver ranges. */
  requires?: Record<string, string>;
  /** Syscalls it may call; `state.*` style patterns allowed. */
  syscalls?: string[];
  /** Entry module, relative to the package; defaults to package.json `main`. */
  entry?: string;
  /** For out-of-process drivers: the command that starts it. */
  command?: string[];
  /** JSON Schema-ish description of its config section (documentation only for now). */
  config?: Record<string, unknown>;
}

/** The validated manifest the kernel works with. */
export interface PluginManifest extends PluginManifestSection {
  name: string;
  version: string;
  description: string;
  provides: { kind: DriverKind | string; name: string }[];
  requires: Record<string, string>;
  syscalls: string[];
}

/** Registry of active drivers, by kind and name. */
export interface DriverRegistry {
  /** Registers `driver` as `kind`/`name`; dispose to take it back. AlreadyExists on a clash. */
  register<T>(kind: DriverKind | string, name: string, driver: T): Disposable;
  /** The driver `kind`/`name`, or the default of its kind when `name` is absent; NotFound otherwise. */
  get<T>(kind: DriverKind | string, name?: string): T;
  /** Every registered driver of `kind`. */
  list(kind: DriverKind | string): { name: string; plugin?: string }[];
}

export const DriverRegistry = createToken<DriverRegistry>('driver-registry');

/** What the kernel gives a plugin at activation. */
export interface PluginContext {
  readonly manifest: PluginManifest;
  /** The plugin's own child container; register providers here. */
  readonly container: DependencyContainer;
  /** The plugin's section of the kernel config (`plugins.<id>`), or {}. */
  readonly config: Record<string, unknown>;
  /** A directory owned by this plugin under the kernel's data dir. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Limited to the syscalls the manifest declares. */
  readonly syscalls: Syscalls;
  /** Drivers registered through this registry are unregistered on deactivation. */
  readonly drivers: DriverRegistry;
  /** Disposed (in reverse order) when the plugin is deactivated. */
  readonly subscriptions: Disposable[];
}

export const PluginContext = createToken<PluginContext>('plugin-context');
export const PluginConfig = createToken<Record<string, unknown>>('plugin-config');
export const PluginDataDir = createToken<string>('plugin-data-dir');

/** What a plugin's entry module exports as `default` (or `plugin`). */
export interface PluginDefinition {
  activate(ctx: PluginContext): void | Promise<void>;
  deactivate?(ctx: PluginContext): void | Promise<void>;
}

/** Identity helper that types a plugin definition. */
export function definePlugin(def: PluginDefinition): PluginDefinition {
  return def;
}

/** Resolve a token in a container, typed. */
export function resolveToken<T>(container: DependencyContainer, token: Token<T>): T {
  return container.resolve<T>(token as symbol);
}
