import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '@kern/sdk';

const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

/**
 * The `setsid` program the shim starts containers with: util-linux's from
 * the system directories, else busybox's applet. FailedPrecondition when
 * there is neither.
 */
export async function findSetsid(appletDir: string | undefined): Promise<string> {
  const candidates = [...SYSTEM_DIRS, ...(appletDir ? [appletDir] : [])].map((dir) => join(dir, 'setsid'));
  for (const candidate of candidates) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  throw new KernelError('FailedPrecondition',
    `setsid not found in ${SYSTEM_DIRS.join(', ')}: install util-linux, or set plugins.runtime-raw-exec.busyboxPath to use busybox's`,
    { code: 'KERN_ERR_RAW_EXEC_SETSID_MISSING' });
}
