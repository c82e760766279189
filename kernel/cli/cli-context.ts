import { KindInfo } from '@kern/sdk';
import { formatError } from './cli-error';
import { loadClientConfig } from './client-config';
import { KernClient } from './kern-client';
import { KindResolver } from './kind-resolver';

/** Options every command accepts. */
export interface GlobalOptions {
  debug?: boolean;
  kernHome?: string;
  server?: string;
  token?: string;
}

export interface CliIo {
  /** Text, or bytes as they came (exec output). */
  stdout: { write(chunk: string | Uint8Array): unknown };
  /** `isTTY` turns on progress lines that redraw themselves. */
  stderr: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** What `kern exec -i` and `kern image import -` read; default process.stdin. */
  stdin?: NodeJS.ReadableStream;
}

/** What a command runs with: output streams, the global options and a lazily made client. */
export class CliContext {
  private clientInstance?: KernClient;
  private resolverPromise?: Promise<KindResolver>;

  constructor(readonly globals: GlobalOptions, readonly io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }) {}

  get client(): KernClient {
    this.clientInstance ??= new KernClient(loadClientConfig({ ...this.globals, env: this.io.env }));
    return this.clientInstance;
  }

  /** The server's kinds (`state.kinds`), fetched once per command. */
  kinds(): Promise<KindResolver> {
    this.resolverPromise ??= this.client.syscall('state.kinds', {})
      .then((reply: KindInfo[] | { items?: KindInfo[] }) => new KindResolver(Array.isArray(reply) ? reply : reply?.items ?? []));
    return this.resolverPromise;
  }

  now(): number {
    return Date.now();
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** Prints `error: ...` (and the field) without ending the command. */
  reportError(e: unknown, prefix?: string): void {
    this.io.stderr.write(formatError(e, { debug: this.globals.debug, prefix }).join('\n') + '\n');
  }

  warn(text: string): void {
    this.io.stderr.write(text + '\n');
  }

  close(): void {
    this.clientInstance?.close();
  }
}
