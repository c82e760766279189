import { Readable } from 'node:stream';
import { Logger } from '@kern/sdk';
import { Authenticator } from '../auth/authenticator';
import { KernelMetrics } from '../metrics/metrics';
import { PluginManager } from '../plugins/plugin-manager';
import { KindRegistry } from '../state/kind-registry';
import { StateService } from '../state/state-service';
import { SyscallTable } from '../syscalls/syscall-table';

/** What the HTTP and gRPC front ends need from the kernel. */
export interface ApiContext {
  state: StateService;
  kinds: KindRegistry;
  syscalls: SyscallTable;
  plugins: PluginManager;
  auth: Authenticator;
  metrics: KernelMetrics;
  logger: Logger;
  version: { kern: string; abi: string };
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  /**
   * Image import (`POST /v1/images/import`) into this machine's runtime.
   * Absent when the kernel has nothing to import into (the route says 503).
   */
  images?: { import(name: string, tar: Readable): Promise<void> };
  /** False while booting or shutting down (healthz says so). */
  ready(): boolean;
}
