import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isUnreachable } from '../../kernel/cli/cli-error';

/** What the running kernel says of one plugin (`GET /v1/plugins`). */
export interface KernelPluginInfo {
  id: string;
  version: string;
  state: string;
  dir: string;
  requires: Record<string, string>;
  builtin?: boolean;
  error?: string;
}

/** The running kernel's plugin manager, as far as installing needs it. */
export interface KernelPlugins {
  list(): Promise<KernelPluginInfo[]>;
  /** Loads and activates the package in `dir` (absolute); throws the activation error. */
  load(dir: string): Promise<KernelPluginInfo>;
  /** Deactivates and forgets a plugin; refused while active plugins require it. */
  unload(id: string): Promise<void>;
}

/** The part of the CLI's KernClient used here. */
export interface KernelApiClient {
  readonly server: string;
  readonly config: { token?: string };
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

/** KernelPlugins over the kernel's HTTP API (`/v1/plugins`, `/v1/plugins/load`, `DELETE /v1/plugins/:id`). */
export function kernelPluginsOver(client: KernelApiClient): KernelPlugins {
  return {
    list: async () => {
      const reply = await client.request<{ items?: KernelPluginInfo[] } | KernelPluginInfo[]>('GET', '/v1/plugins');
      return Array.isArray(reply) ? reply : reply?.items ?? [];
    },
    load: (dir) => client.request<KernelPluginInfo>('POST', '/v1/plugins/load', { dir }),
    unload: async (id) => {
      await client.request('DELETE', `/v1/plugins/${encodeURIComponent(id)}`);
    },
  };
}

export interface KernelConnection {
  /** Set when a kernel using this data dir is running. */
  kernel?: KernelPlugins;
  /** Why there is no kernel to load into. */
  note?: string;
}

/**
 * The running kernel that uses `dataDir`, if any. A kernel keeps its admin
 * token in `<data-dir>/auth/admin.token`, so the kernel the client talks to
 * uses this data dir exactly when the client's token is that one; loading
 * into a kernel that uses another data dir would load plugins it does not
 * have on its disk.
 */
export async function connectKernel(client: KernelApiClient, dataDir: string): Promise<KernelConnection> {
  const tokenFile = join(dataDir, 'auth', 'admin.token');
  const token = (await readFile(tokenFile, 'utf8').catch(() => undefined))?.trim();
  if (!token) return { note: `no kernel has used data dir ${dataDir} yet; the change takes effect when one starts with it` };
  if (client.config.token !== token) {
    return { note: `the kernel at ${client.server} does not use data dir ${dataDir} (its token is not the one in ${tokenFile}); the change takes effect when a kernel starts with that data dir` };
  }
  const kernel = kernelPluginsOver(client);
  try {
    await kernel.list();
  } catch (e) {
    if (isUnreachable(e)) return { note: `no kernel is running at ${client.server}; the change takes effect at the next kern up` };
    throw e;
  }
  return { kernel };
}
