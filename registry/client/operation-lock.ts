import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '@kern/sdk';
import { CLIENT_ERROR_CODES } from './client-errors';

const LOCK_NAME = '.operation.lock';

/**
 * Runs `fn` while holding `<root>/.operation.lock`, so two `kern plugin`
 * commands cannot change the installed plugins at once. A lock left by a
 * process that is gone is taken over.
 */
export async function withOperationLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true });
  const file = join(root, LOCK_NAME);
  await acquire(file);
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}

async function acquire(file: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new KernelError('FailedPrecondition',
        `another kern plugin command (pid ${holder}) is changing the installed plugins; wait for it to finish (or delete ${file} if that process is not kern)`,
        { code: CLIENT_ERROR_CODES.busy });
    }
    await rm(file, { force: true });
  }
  throw new KernelError('FailedPrecondition', `cannot take ${file}; another kern plugin command keeps taking it — try again`, { code: CLIENT_ERROR_CODES.busy });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
