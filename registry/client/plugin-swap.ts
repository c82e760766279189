import { lstat, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Leftovers of an install, inside `<data-dir>/plugins-installed/` (discovery skips dot-dirs). */
export const STAGING_PREFIX = '.staging-';
export const BACKUP_PREFIX = '.backup-';
/** Written into a backup dir before anything moves; its presence means "not committed". */
const JOURNAL = 'swap.json';

/** One path to replace (`replacement` set) or remove (not set). */
export interface SwapEntry {
  target: string;
  /** A staged file or directory on the same file system; moved to `target`. */
  replacement?: string;
}

export interface PluginSwap {
  /** Puts every target back exactly as it was before the swap. */
  rollback(): Promise<void>;
  /** Keeps the new set and drops the backup. */
  commit(): Promise<void>;
}

/** The file system calls a swap makes that can fail halfway; tests inject failures here. */
export interface SwapFs {
  rename(from: string, to: string): Promise<void>;
}

const realFs: SwapFs = { rename };

interface Journal {
  entries: { target: string; existed: boolean; replacement?: string }[];
}

/**
 * Replaces a set of paths as one step: every existing target moves into a
 * new `<root>/.backup-*` directory, then the replacements move into place
 * (renames, so each move is atomic). A journal written before the first
 * move lets {@link PluginSwap.rollback} — or {@link recoverInterruptedSwaps}
 * after a crash — put back exactly the previous set. Any failure during the
 * swap rolls back before it is thrown. Targets and `root` must be on one
 * file system.
 */
export async function swapPaths(root: string, entries: SwapEntry[], fs: SwapFs = realFs): Promise<PluginSwap> {
  const backup = await mkdtemp(join(root, BACKUP_PREFIX));
  const journal: Journal = { entries: [] };
  for (const e of entries) journal.entries.push({ target: e.target, existed: await exists(e.target), ...(e.replacement ? { replacement: e.replacement } : {}) });
  await writeFile(join(backup, `${JOURNAL}.tmp`), JSON.stringify(journal, null, 2));
  await rename(join(backup, `${JOURNAL}.tmp`), join(backup, JOURNAL));
  try {
    for (const [i, e] of journal.entries.entries()) {
      if (e.existed) await fs.rename(e.target, join(backup, String(i)));
    }
    for (const e of journal.entries) {
      if (e.replacement) await fs.rename(e.replacement, e.target);
    }
  } catch (err) {
    await restore(backup);
    throw err;
  }
  let settled = false;
  return {
    rollback: async () => {
      if (settled) return;
      settled = true;
      await restore(backup);
    },
    commit: async () => {
      if (settled) return;
      settled = true;
      // Dropping the journal is the commit; the rest is clean-up.
      await rm(join(backup, JOURNAL), { force: true });
      await rm(backup, { recursive: true, force: true });
    },
  };
}

/**
 * Finishes what a killed install left in `root`: swaps that never committed
 * are rolled back, staging and committed backup dirs removed. Returns a note
 * per rolled-back swap.
 */
export async function recoverInterruptedSwaps(root: string): Promise<string[]> {
  const notes: string[] = [];
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return notes;
    throw e;
  }
  for (const name of names.sort()) {
    const dir = join(root, name);
    if (name.startsWith(BACKUP_PREFIX)) {
      if (await exists(join(dir, JOURNAL))) {
        const targets = await restore(dir);
        notes.push(`rolled back an interrupted plugin change (${targets.join(', ')})`);
      } else {
        await rm(dir, { recursive: true, force: true });
      }
    } else if (name.startsWith(STAGING_PREFIX)) {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return notes;
}

/** Puts back what the journal in `backup` says moved, then removes `backup`. Returns the targets. */
async function restore(backup: string): Promise<string[]> {
  const journal = JSON.parse(await readFile(join(backup, JOURNAL), 'utf8')) as Journal;
  for (const [i, e] of journal.entries.entries()) {
    const saved = join(backup, String(i));
    if (e.existed) {
      // Not moved yet means the target is still the old one: leave it.
      if (!(await exists(saved))) continue;
      await rm(e.target, { recursive: true, force: true });
      await rename(saved, e.target);
    } else {
      await rm(e.target, { recursive: true, force: true });
    }
  }
  await rm(join(backup, JOURNAL), { force: true });
  await rm(backup, { recursive: true, force: true });
  return journal.entries.map((e) => e.target);
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
