import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { container, DependencyContainer } from 'tsyringe';
import { Disposable, KERNEL_ABI_VERSION, Logger, RuntimeDriver, SchedulerPluginRegistry, StoreDriver, errors } from '@kern/sdk';
import { hostname } from 'node:os';
import { registerComputeSyscalls } from './agent/compute-syscalls';
import { nodeNameFrom } from './agent/node-facts';
import { DEFAULT_BACKOFF } from './agent/restart-backoff';
import { RuntimeAgents } from './agent/runtime-agents';
import { ApiContext } from './api/api-context';
import { SchedulerPluginSet } from './sched/framework-runtime';
import { NodeLifecycleController } from './sched/node-lifecycle-controller';
import { Scheduler } from './sched/scheduler';
import { startClusterInformers } from './sched/cluster-informers';
import { registerSchedulerSyscalls } from './sched/scheduler-syscalls';
import { startGrpcServer } from './api/grpc/grpc-server';
import { startHttpServer } from './api/http/http-server';
import { Authenticator, writePrivateFile } from './auth/authenticator';
import { KernelConfig, defaultSocketPath } from './config/config';
import { lockDataDir } from './data-dir-lock';
import { KernelDriverRegistry } from './drivers/driver-registry';
import { KernelMetrics } from './metrics/metrics';
import { builtinPluginDirs } from './plugins/builtin-plugins';
import { PluginManager } from './plugins/plugin-manager';
import { KindRegistry } from './state/kind-registry';
import { DEFAULT_NAMESPACE, StateService } from './state/state-service';
import { registerStateSyscalls } from './syscalls/state-syscalls';
import { SyscallTable } from './syscalls/syscall-table';
import { KERN_VERSION } from './version';

/** Where a running kernel listens. */
export interface KernelEndpoints {
  http: string;
  grpc: string;
  /** The HTTP API's Unix socket path, when it listens on one. */
  socket?: string;
}

/**
 * One kernel instance. Boot order: config → store driver → other plugins in
 * dependency order → APIs. Shutdown runs the other way round.
 */
export class Kernel {
  readonly root: DependencyContainer;
  readonly metrics = new KernelMetrics();
  readonly kinds = new KindRegistry();
  readonly drivers: KernelDriverRegistry;
  readonly syscalls: SyscallTable;
  readonly plugins: PluginManager;
  readonly auth: Authenticator;
  state?: StateService;
  agents?: RuntimeAgents;
  scheduler?: Scheduler;
  /** Scheduling plugins other plugins register (the SchedulerPluginRegistry token). */
  readonly schedulerPlugins = new SchedulerPluginSet();
  endpoints?: KernelEndpoints;
  private readonly closers: (() => Promise<void> | void)[] = [];
  private isReady = false;
  private stopping?: Promise<void>;

  private constructor(readonly config: KernelConfig, readonly logger: Logger) {
    this.root = container.createChildContainer();
    this.drivers = new KernelDriverRegistry({ store: config.store });
    this.syscalls = new SyscallTable(this.metrics);
    this.auth = new Authenticator(config.dataDir);
    this.root.registerInstance(SchedulerPluginRegistry as symbol, this.schedulerPlugins);
    this.plugins = new PluginManager({
      root: this.root,
      drivers: this.drivers,
      syscalls: this.syscalls,
      logger: logger.child({ component: 'plugins' }),
      dataDir: config.dataDir,
      kernelVersion: KERNEL_ABI_VERSION,
      pluginConfig: config.plugins,
      disabled: config.disabledPlugins,
    });
  }

  static async boot(config: KernelConfig, logger: Logger): Promise<Kernel> {
    mkdirSync(config.dataDir, { recursive: true });
    // One kernel per data dir: taken before the store opens, given back
    // after everything else has stopped.
    const lock = lockDataDir(config.dataDir);
    let kernel: Kernel;
    try {
      kernel = new Kernel(config, logger);
    } catch (e) {
      lock.release();
      throw e;
    }
    kernel.closers.unshift(() => lock.release());
    try {
      await kernel.start();
    } catch (e) {
      await kernel.shutdown();
      throw e;
    }
    return kernel;
  }

  private async start(): Promise<void> {
    const started = Date.now();
    const { config, logger } = this;
    const installed = join(config.dataDir, 'plugins-installed');
    mkdirSync(installed, { recursive: true });
    await this.plugins.discover([
      ...builtinPluginDirs().map((dir) => ({ dir, builtin: true })),
      ...[installed, ...config.pluginDirs].map((dir) => ({ dir, builtin: false })),
    ]);
    this.closers.push(() => this.plugins.deactivateAll());

    // The store first: nothing else works without state.
    const storePlugin = this.plugins.list().find((p) => p.provides.some((x) => x.kind === 'store' && x.name === config.store));
    if (!storePlugin) throw errors.invalid('config.store', `no plugin provides the store driver "${config.store}"`);
    await this.plugins.activate([storePlugin.id]);
    this.plugins.pin(storePlugin.id, `provides the state store ("${config.store}") the kernel runs on`);
    const store = this.drivers.get<StoreDriver>('store', config.store);
    this.root.registerInstance(StoreDriver as symbol, store);
    this.state = new StateService(store, this.kinds);
    this.track(registerStateSyscalls(this.syscalls, this.state));
    await this.ensureDefaultNamespaces();

    // Each plugin that fails is logged by the plugin manager as it fails.
    await this.plugins.activate();

    await this.startScheduling();
    await this.startAgent();

    const api: ApiContext = {
      state: this.state,
      kinds: this.kinds,
      syscalls: this.syscalls,
      plugins: this.plugins,
      auth: this.auth,
      metrics: this.metrics,
      logger: logger.child({ component: 'api' }),
      version: { kern: KERN_VERSION, abi: KERNEL_ABI_VERSION },
      bodyLimitBytes: config.bodyLimitBytes,
      images: { import: (name, tar) => this.importImage(name, tar) },
      ready: () => this.isReady,
    };
    if (!config.http.socket && !defaultSocketPath(config.dataDir)) {
      logger.warn({ dataDir: config.dataDir }, 'no Unix socket for the API (http.socket is "", or the default in this data dir is too long a path): serving TCP only; --socket PATH sets one');
    }
    const http = await startHttpServer(api, config.http);
    this.closers.push(() => http.close());
    const grpc = await startGrpcServer(api, config.grpc);
    this.closers.push(() => grpc.close());
    this.endpoints = {
      http: `http://${formatHost(http.address.host)}:${http.address.port}`,
      grpc: `${formatHost(config.grpc.host)}:${grpc.port}`,
      ...(http.socket ? { socket: http.socket } : {}),
    };
    if (config.writeClientConfig) this.writeClientConfig();
    this.isReady = true;
    logger.info({ ...this.endpoints, ms: Date.now() - started }, 'kernel ready');
  }

  /** The scheduler (binds pending pods), its syscalls, and the node lifecycle controller. */
  private async startScheduling(): Promise<void> {
    const cfg = this.config.scheduler ?? {};
    const informers = startClusterInformers(this.syscalls.handleFor('kernel:informers', ['state.list', 'state.watch']), this.logger.child({ component: 'informers' }));
    // Closers run in reverse: the caches stop after the scheduler and the lifecycle controller.
    this.closers.push(() => informers.stop());
    const scheduler = new Scheduler(this.syscalls.handleFor('kernel:scheduler', ['state.*']), this.logger.child({ component: 'scheduler' }), this.schedulerPlugins, {
      percentageOfNodesToScore: cfg.percentageOfNodesToScore,
      informers,
    });
    await scheduler.start();
    this.scheduler = scheduler;
    this.closers.push(() => scheduler.stop());
    this.track(registerSchedulerSyscalls(this.syscalls, scheduler));
    const lifecycle = new NodeLifecycleController(this.syscalls.handleFor('kernel:node-lifecycle', ['state.*']), this.logger.child({ component: 'node-lifecycle' }), {
      nodeLossGraceSeconds: cfg.nodeLossGraceSeconds,
      informers,
    });
    await lifecycle.start();
    this.closers.push(() => lifecycle.stop());
  }

  /**
   * A node agent per active runtime driver, started now and whenever a
   * runtime plugin is loaded later (`kern plugin install`); see RuntimeAgents.
   */
  private async startAgent(): Promise<void> {
    const cfg = this.config.agent;
    if (!cfg.enabled) return;
    const nodeName = cfg.nodeName ?? nodeNameFrom(hostname());
    const agents = new RuntimeAgents(this.syscalls.handleFor('kernel:agent', ['state.*']), this.drivers, {
      nodeName,
      dataDir: this.config.dataDir,
      primaryRuntime: cfg.runtime,
      labels: cfg.labels,
      zone: cfg.zone,
      capacity: cfg.capacity,
      reserved: cfg.reserved,
      ...(cfg.backoffInitialMs ? { backoff: { ...DEFAULT_BACKOFF, initialMs: cfg.backoffInitialMs } } : {}),
    }, this.logger.child({ component: 'agent' }));
    this.agents = agents;
    const watching = this.drivers.onChange((kind) => { if (kind === 'runtime') void agents.sync(); });
    this.closers.push(async () => { watching.dispose(); await agents.stop(); });
    if (!this.drivers.has('runtime', cfg.runtime)) {
      this.logger.warn('no runtime driver is active, so this machine runs no pods until one is (is Docker running? see `kern plugin list`)');
    }
    await agents.sync();
    this.track(registerComputeSyscalls(this.syscalls, agents, nodeName));
  }

  /**
   * Imports into the runtime driver the agent uses, looked up per call so a
   * runtime plugin activated later is found; Unavailable names what is missing.
   */
  private async importImage(name: string, tar: Readable): Promise<void> {
    const wanted = this.config.agent.runtime;
    if (!this.drivers.has('runtime', wanted)) {
      throw errors.unavailable(`no runtime driver${wanted ? ` named "${wanted}"` : ''} is active, so there is nothing to import images into (is Docker running? see \`kern plugin list\`)`);
    }
    const runtime = this.drivers.get<RuntimeDriver>('runtime', wanted);
    if (!runtime.importImage) {
      throw errors.unavailable(`the runtime driver "${runtime.name}" cannot import images: use a runtime that can (runtime-docker)`);
    }
    await runtime.importImage(name, tar);
  }

  /** Stops APIs, then plugins in reverse order, then the store. Safe to call twice. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.isReady = false;
      for (const close of this.closers.reverse()) {
        try {
          await close();
        } catch (e) {
          this.logger.error({ err: e }, 'error during shutdown');
        }
      }
    })();
    return this.stopping;
  }

  private track(disposables: Disposable[]): void {
    this.closers.push(async () => {
      for (const d of [...disposables].reverse()) await d.dispose();
    });
  }

  private async ensureDefaultNamespaces(): Promise<void> {
    for (const name of [DEFAULT_NAMESPACE, 'kern-system']) {
      await this.state!.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {} });
    }
  }

  private writeClientConfig(): void {
    const file = join(this.config.kernHome, 'config.json');
    writePrivateFile(file, JSON.stringify({ server: this.endpoints!.http, grpc: this.endpoints!.grpc, socket: this.endpoints!.socket, token: this.auth.adminToken }, null, 2) + '\n');
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
