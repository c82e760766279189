import { join } from 'node:path';
import {
  Logger, NODE_RUNTIME_DEDICATED_LABEL, NODE_RUNTIME_LABEL, RuntimeDriver, Syscalls,
} from '@kern/sdk';
import { NodeAgent, NodeAgentOptions } from './node-agent';

/** What a runtime-agents manager needs from the driver registry. */
export interface RuntimeDriverSource {
  list(kind: 'runtime'): { name: string }[];
  get<T>(kind: 'runtime', name: string): T;
}

export interface RuntimeAgentsOptions extends Omit<NodeAgentOptions, 'dataDir'> {
  /** The kernel's data dir; each agent keeps its state in a folder under it. */
  dataDir: string;
  /** The runtime the node named `nodeName` uses; default: the first runtime driver registered. */
  primaryRuntime?: string;
}

/**
 * One node agent per active runtime driver. The primary runtime's agent is
 * the machine's node (`nodeName`); every other runtime driver, such as one
 * installed from the registry, gets its own node `<nodeName>-<runtime>`,
 * labelled as dedicated to that runtime, so pods reach it only through
 * `spec.runtimeClassName` (see the RuntimeClass scheduling filter). A driver
 * that goes away stops its agent; its containers keep running for the next.
 */
export class RuntimeAgents {
  private readonly agents = new Map<string, NodeAgent>();
  private primary?: string;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly syscalls: Syscalls,
    private readonly drivers: RuntimeDriverSource,
    private readonly opts: RuntimeAgentsOptions,
    private readonly logger: Logger,
  ) {
    this.primary = opts.primaryRuntime;
  }

  /** Starts agents for new runtime drivers and stops those whose driver is gone; calls run one at a time. */
  sync(): Promise<void> {
    const next = this.syncing.then(() => this.syncNow());
    this.syncing = next.catch((e) => this.logger.error({ err: (e as Error).message }, 'runtime agents sync failed'));
    return next;
  }

  /** The agent serving node `name`, if it runs in this process. */
  byNode(name: string | undefined): NodeAgent | undefined {
    return [...this.agents.values()].find((a) => a.nodeName === name);
  }

  list(): { runtime: string; agent: NodeAgent }[] {
    return [...this.agents].map(([runtime, agent]) => ({ runtime, agent }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.syncing;
    for (const agent of this.agents.values()) await agent.stop();
    this.agents.clear();
  }

  private async syncNow(): Promise<void> {
    if (this.stopped) return;
    const active = this.drivers.list('runtime').map((d) => d.name);
    for (const [runtime, agent] of [...this.agents]) {
      if (active.includes(runtime)) continue;
      this.agents.delete(runtime);
      await agent.stop();
      this.logger.info({ runtime, node: agent.nodeName }, 'runtime driver gone: its node agent stopped');
    }
    this.primary ??= active[0];
    for (const runtime of active) {
      if (this.agents.has(runtime)) continue;
      const agent = this.makeAgent(runtime);
      await agent.start();
      this.agents.set(runtime, agent);
    }
  }

  private makeAgent(runtime: string): NodeAgent {
    const primary = runtime === this.primary;
    const nodeName = primary ? this.opts.nodeName : `${this.opts.nodeName}-${runtime}`;
    const labels = {
      ...this.opts.labels,
      [NODE_RUNTIME_LABEL]: runtime,
      ...(primary ? {} : { [NODE_RUNTIME_DEDICATED_LABEL]: 'true' }),
    };
    const driver = this.drivers.get<RuntimeDriver>('runtime', runtime);
    return new NodeAgent(this.syscalls, driver, {
      ...this.opts,
      nodeName,
      labels,
      dataDir: join(this.opts.dataDir, primary ? 'agent' : `agent-${runtime}`),
    }, this.logger.child({ node: nodeName, runtime }));
  }
}
