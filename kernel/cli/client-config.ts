import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KernelError } from '@kern/sdk';
import { CLI_ERROR_CODES } from './cli-error';

/** Where the CLI sends requests, and as whom. */
export interface ClientConfig {
  /** Base URL of the HTTP API. Default: `http://127.0.0.1:7070`. */
  server: string;
  /** Bearer token; absent means anonymous (only /healthz and /version work). */
  token?: string;
  /** The directory holding `config.json`. */
  kernHome: string;
  /**
   * The server's Unix socket, used instead of TCP: set when the server is
   * the one `kern up` wrote to config.json and its socket file exists.
   */
  socketPath?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

export interface ClientConfigOptions {
  kernHome?: string;
  server?: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
}

export function kernHomeFrom(options: { kernHome?: string; env?: NodeJS.ProcessEnv }): string {
  const env = options.env ?? process.env;
  return options.kernHome || env.KERN_HOME || join(homedir(), '.kern');
}

/**
 * Reads `$KERN_HOME/config.json` (written by `kern up`), then applies
 * KERN_SERVER / KERN_TOKEN, then the --server / --token flags. Requests to
 * the server config.json names go over its Unix socket when there is one.
 */
export function loadClientConfig(options: ClientConfigOptions = {}): ClientConfig {
  const env = options.env ?? process.env;
  const kernHome = kernHomeFrom(options);
  const file = join(kernHome, 'config.json');
  let stored: { server?: unknown; token?: unknown; socket?: unknown } = {};
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) ?? {};
    } catch (e) {
      throw new KernelError('Invalid', `cannot read ${file}: ${(e as Error).message} (delete it and run \`kern up\` again)`, {
        code: CLI_ERROR_CODES.usage,
      });
    }
  }
  const pick = (...values: unknown[]) => values.find((v): v is string => typeof v === 'string' && v !== '');
  const server = pick(options.server, env.KERN_SERVER, stored.server) ?? DEFAULT_SERVER;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KernelError('Invalid', `"${server}" is not a URL (example: http://127.0.0.1:7070)`, { field: 'server', code: CLI_ERROR_CODES.usage });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KernelError('Invalid', `"${server}" must be an http:// or https:// URL`, { field: 'server', code: CLI_ERROR_CODES.usage });
  }
  // The socket reaches the server config.json names: a server given by flag
  // or KERN_SERVER goes over TCP.
  const fromStored = !pick(options.server, env.KERN_SERVER);
  const socketPath = fromStored && typeof stored.socket === 'string' && stored.socket && existsSync(stored.socket) ? stored.socket : undefined;
  return { server: server.replace(/\/+$/, ''), token: pick(options.token, env.KERN_TOKEN, stored.token), kernHome, ...(socketPath ? { socketPath } : {}) };
}
