import { join } from 'node:path';
import Database from 'better-sqlite3';
import { errors } from '@kern/sdk';

/** The lock file in a data dir; its content does not matter. */
const DATA_DIR_LOCK_FILE = 'kern.lock';

export interface DataDirLock {
  /** Lets the next kernel have the data dir. */
  release(): void;
}

/**
 * Takes the data dir for this kernel: one kernel per data dir. The lock is
 * SQLite's exclusive lock on `<dataDir>/kern.lock` (a POSIX record lock, via
 * better-sqlite3, which the kernel has anyway). The operating system drops
 * it when the process ends, however it ends, so a kernel that was killed
 * never blocks the next one; and SQLite makes two opens in one process
 * conflict too, which plain record locks would not.
 */
/**
 * Every lock this process holds. better-sqlite3 closes a connection that is
 * garbage-collected, which would drop its lock, so the lock must not depend
 * on the caller keeping the handle.
 */
const held = new Set<Database.Database>();

export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, DATA_DIR_LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
  } catch (e) {
    throw errors.unavailable(`cannot open ${file} to lock the data dir: ${(e as Error).message}`, { cause: e });
  }
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') {
      throw errors.unavailable(`the data dir ${dataDir} is in use by another kernel (it holds ${file}): stop that one, or give this one another --data-dir`, { cause: e });
    }
    throw errors.unavailable(`cannot lock the data dir through ${file}: ${(e as Error).message}`, { cause: e });
  }
  held.add(db);
  return {
    release() {
      if (!held.delete(db)) return;
      db.close(); // rolls the transaction back, which ends the lock
    },
  };
}
