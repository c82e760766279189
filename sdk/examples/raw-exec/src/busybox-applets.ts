import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, constants, mkdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KernelError } from '@kern/sdk';

const execFileAsync = promisify(execFile);

/**
 * Makes a directory with one symlink per busybox applet (`sh`, `nc`, `seq`,
 * ... → `busyboxPath`) under `<stateDir>/applets/` and returns it; the
 * driver puts it first on each container's PATH. The directory is named
 * after the binary's path, size and mtime, so an upgraded busybox gets a
 * fresh one while running containers keep theirs. Built aside and renamed
 * into place, so driver instances starting together do not trip over each
 * other. FailedPrecondition when busybox is not there.
 */
export async function prepareAppletDir(busyboxPath: string, stateDir: string): Promise<string> {
  const info = await stat(busyboxPath).catch(() => undefined);
  const executable = info?.isFile() && await access(busyboxPath, constants.X_OK).then(() => true, () => false);
  if (!executable) {
    throw new KernelError('FailedPrecondition',
      `busybox not found at ${busyboxPath}: install busybox-static (apt-get install busybox-static), ` +
      'point plugins.runtime-raw-exec.busyboxPath at a static busybox, or set it to false to use only the host\'s programs',
      { field: 'plugins.runtime-raw-exec.busyboxPath', code: 'KERN_ERR_RAW_EXEC_BUSYBOX_MISSING' });
  }
  const key = createHash('sha256').update(`${busyboxPath}\n${info!.size}\n${info!.mtimeMs}`).digest('hex').slice(0, 12);
  const dir = join(stateDir, 'applets', key);
  if (await stat(dir).then((s) => s.isDirectory(), () => false)) return dir;

  const applets = await listApplets(busyboxPath);
  const staging = `${dir}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(staging, { recursive: true });
  try {
    for (const applet of applets) await symlink(busyboxPath, join(staging, applet));
    await rename(staging, dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Another instance renamed its copy into place first: use that one.
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return dir;
}

async function listApplets(busyboxPath: string): Promise<string[]> {
  try {
    const { stdout } = await execFileAsync(busyboxPath, ['--list']);
    // `[` and `[[` are applets too; anything with a slash would not be a file name.
    return stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '' && !s.includes('/') && s !== '.' && s !== '..');
  } catch (e) {
    throw new KernelError('FailedPrecondition', `${busyboxPath} --list failed (${(e as Error).message}): is it busybox?`,
      { field: 'plugins.runtime-raw-exec.busyboxPath', cause: e });
  }
}
