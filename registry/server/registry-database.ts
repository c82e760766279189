import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KernelError, isKernelError } from '@kern/sdk';

/** The registry's index: publishers, their token hashes, plugins and versions. Blobs live beside it. */
export const REGISTRY_DATABASE_FILE = 'registry.db';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS publishers (
  name        TEXT PRIMARY KEY,
  key_id      TEXT NOT NULL,
  public_key  TEXT NOT NULL,
  created_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
  sha256      TEXT PRIMARY KEY,
  publisher   TEXT NOT NULL REFERENCES publishers(name),
  created_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS plugins (
  id          TEXT PRIMARY KEY,
  publisher   TEXT NOT NULL REFERENCES publishers(name),
  deprecated  TEXT,
  downloads   INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
  plugin_id         TEXT NOT NULL REFERENCES plugins(id),
  version           TEXT NOT NULL,
  manifest          TEXT NOT NULL,
  digest            TEXT NOT NULL,
  size              INTEGER NOT NULL,
  signature_key_id  TEXT,
  signature         TEXT,
  published_at      TEXT NOT NULL,
  yanked            INTEGER NOT NULL DEFAULT 0,
  yank_reason       TEXT,
  downloads         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plugin_id, version)
) WITHOUT ROWID;
`;

/**
 * Opens (creating when needed) `<dataDir>/registry.db` in WAL mode, so the
 * server and the local `kern registry publisher|token` commands can use it
 * at the same time; a write waits up to 5 s for the other's lock.
 */
export function openRegistryDatabase(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, REGISTRY_DATABASE_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 5000 });
  } catch (e) {
    throw new KernelError('Unavailable', `cannot open the registry database ${file}: ${(e as Error).message}`, { field: '--data-dir', cause: e });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) {
      throw new KernelError('FailedPrecondition',
        `the registry database ${file} has schema ${version}, newer than this kern understands (${SCHEMA_VERSION}): upgrade kern`);
    }
    db.transaction(() => {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } catch (e) {
    db.close();
    if (isKernelError(e)) throw e;
    throw new KernelError('Unavailable', `cannot open the registry database ${file}: ${(e as Error).message}`, { field: '--data-dir', cause: e });
  }
  return db;
}
