import path from 'node:path';
import { errors } from '@kern/sdk';
import { SQLITE_STORE_DEFAULTS, SqliteStoreOptions } from './sqlite-store';

/** The plugin's config section (`plugins.store-sqlite` in the kernel config). */
export interface StoreSqliteConfig {
  /** The database file; relative paths are taken from the plugin's data dir. Default `<dataDir>/state.db`. */
  path?: string;
  /** Revisions of history kept for watches to resume from. Default 100000; 0 keeps everything. */
  historyRevisions?: number;
  /** How often (ms) watchers look for writes of other processes. Default 50. */
  pollIntervalMs?: number;
  /** How long (ms) a write waits for another process's lock. Default 5000. */
  busyTimeoutMs?: number;
}

const SECTION = 'plugins.store-sqlite';
const NUMBER_KEYS = ['historyRevisions', 'pollIntervalMs', 'busyTimeoutMs'] as const;
const KNOWN_KEYS = new Set<string>(['path', ...NUMBER_KEYS]);

/** Checks the config section and turns it into store options; Invalid names the bad field. */
export function readStoreConfig(raw: Record<string, unknown> | undefined, dataDir: string): SqliteStoreOptions {
  const config = raw ?? {};
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) throw errors.invalid(`${SECTION}.${key}`, `is not a setting of store-sqlite (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const file = config.path ?? 'state.db';
  if (typeof file !== 'string' || !file.trim()) throw errors.invalid(`${SECTION}.path`, 'must be a non-empty file path');
  const options: SqliteStoreOptions = { path: path.resolve(dataDir, file) };
  for (const key of NUMBER_KEYS) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw errors.invalid(`${SECTION}.${key}`, `must be a non-negative integer (default ${SQLITE_STORE_DEFAULTS[key]}), not ${JSON.stringify(value)}`);
    }
    options[key] = value;
  }
  return options;
}
