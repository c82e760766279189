import { join } from 'node:path';
import { Logger, silentLogger } from '@kern/sdk';
import { ConfigOverrides, KernelConfig, loadConfig } from '../../kernel/config/config';
import { Kernel } from '../../kernel/kernel';

/**
 * Boots a real kernel in this process for an integration test: free ports,
 * data under `home`, a node agent under its own node name (so its orphan
 * sweep never touches another test's containers), a short crash back-off.
 */
export function bootTestKernel(home: string, nodeName: string, logger: Logger = silentLogger): Promise<Kernel> {
  return Kernel.boot(agentlessKernelConfig(home, { agent: { enabled: true, nodeName, backoffInitialMs: 1000 } }), logger);
}

/**
 * The config of a kernel with no node agent for an integration test: free
 * ports, data under `home`, no client config written; `extra` adds to it.
 */
export function agentlessKernelConfig(home: string, extra: ConfigOverrides = {}): KernelConfig {
  return loadConfig({
    env: {},
    flags: {
      dataDir: join(home, 'data'), kernHome: home, writeClientConfig: false,
      http: { host: '127.0.0.1', port: 0 }, grpc: { host: '127.0.0.1', port: 0 },
      agent: { enabled: false },
      ...extra,
    },
  });
}

/** Polls `fn` until it returns something truthy; fails naming `what` (and the last error). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
