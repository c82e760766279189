import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { errors, isKernelError } from '@kern/sdk';

/** Schema version this code writes (kept in `PRAGMA user_version`). */
export const SCHEMA_VERSION = 2;

/**
 * - `objects`: the current state, one row per object, keyed like the API.
 * - `events`: the change history (one row per revision) that watches replay;
 *   compaction deletes its oldest rows. `prev_labels`: for an update, the
 *   object's labels before it (JSON), so a label-selected watch sees the
 *   object enter or leave the selection, replayed as live.
 *   The newest row is the store's revision; compaction never deletes it.
 * - `meta`: `compacted` (history at and below it is gone).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  kind      TEXT    NOT NULL,
  namespace TEXT    NOT NULL,
  name      TEXT    NOT NULL,
  rv        INTEGER NOT NULL,
  data      TEXT    NOT NULL,
  PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
  revision    INTEGER PRIMARY KEY,
  type        TEXT    NOT NULL,
  kind        TEXT    NOT NULL,
  namespace   TEXT    NOT NULL,
  name        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  prev_labels TEXT
);
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('compacted', 0);
`;

export interface StateDatabaseOptions {
  /** How long a write waits for another process's lock before failing with Unavailable. */
  busyTimeoutMs: number;
}

/**
 * Opens (creating when needed) the store file in WAL mode with
 * synchronous=NORMAL: commits are atomic and survive a process crash; a power
 * loss can lose the last few commits but never corrupts the file.
 */
export function openStateDatabase(file: string, options: StateDatabaseOptions): Database.Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs });
  } catch (err) {
    throw errors.unavailable(`cannot open the state database ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') {
      throw errors.failedPrecondition(`the state database ${file} cannot use WAL mode (got ${String(mode)}): put it on a local file system`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -32000');
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) {
      throw errors.failedPrecondition(
        `the state database ${file} has schema ${version}, newer than this store-sqlite understands (${SCHEMA_VERSION}): upgrade the plugin`,
      );
    }
    db.transaction(() => {
      db.exec(SCHEMA); // a new file gets every column
      // Schema 1 had no prev_labels: its history replays as before (labels unknown).
      if (version === 1) db.exec('ALTER TABLE events ADD COLUMN prev_labels TEXT');
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } catch (err) {
    db.close();
    if (isKernelError(err)) throw err;
    throw errors.unavailable(`cannot open the state database ${file}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}
