import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { currentBootId, isRunning, readProcessStat } from './process-table';
import { LaunchRecord, StateDir } from './state-dir';

/** Exit code reported when nobody saw how the process ended (its shim was killed, or the host rebooted). */
export const LOST_EXIT_CODE = 255;

/** What the files and the process table say about one container right now. */
export interface ContainerStatus {
  state: 'created' | 'running' | 'exited';
  /** The main process (leader of the container's process group), once the shim has written it. */
  pid?: number;
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
}

/**
 * Works out a container's state from its directory, without any memory of
 * earlier calls, which is what lets a restarted driver pick up where the
 * last one stopped:
 *
 * - an `exit` file: exited, with that code, finished at the file's mtime;
 * - no launch record and no pid file: created (never started);
 * - the shim still running: running;
 * - the shim gone without an exit file, but the main process still there
 *   (someone killed the shim): running;
 * - neither (a reboot, or both killed): exited with {@link LOST_EXIT_CODE};
 *   that verdict is written down so it stays the same.
 */
export async function observeContainer(state: StateDir, id: string): Promise<ContainerStatus> {
  const dir = state.containerDir(id);
  const launch = await state.readLaunch(id);
  const pidFile = await readNumberFile(join(dir, 'pid'));
  const startedAt = launch?.startedAt ?? pidFile?.writtenAt;
  const exited = await readNumberFile(join(dir, 'exit'));
  if (exited) return { state: 'exited', pid: pidFile?.value, exitCode: exited.value, startedAt, finishedAt: exited.writtenAt };
  if (!launch && !pidFile) return { state: 'created' };

  const sameBoot = !launch || launch.bootId === currentBootId();
  if (sameBoot && launch && shimRunning(launch)) return { state: 'running', pid: pidFile?.value, startedAt };
  // The shim writes the exit file just before it ends: look again now that it has.
  const late = await readNumberFile(join(dir, 'exit'));
  if (late) return { state: 'exited', pid: pidFile?.value, exitCode: late.value, startedAt, finishedAt: late.writtenAt };
  if (sameBoot && pidFile && leadsOwnSession(pidFile.value)) return { state: 'running', pid: pidFile.value, startedAt };

  await recordLostExit(state, id);
  const recorded = await readNumberFile(join(dir, 'exit'));
  return { state: 'exited', pid: pidFile?.value, exitCode: recorded?.value ?? LOST_EXIT_CODE, startedAt, finishedAt: recorded?.writtenAt };
}

function shimRunning(launch: LaunchRecord): boolean {
  return isRunning(launch.shimPid, launch.shimStartTime);
}

/** The container's main process leads its own session (the shim started it with setsid); a reused pid almost never does. */
function leadsOwnSession(pid: number): boolean {
  const stat = readProcessStat(pid);
  return !!stat && stat.state !== 'Z' && stat.session === pid;
}

async function recordLostExit(state: StateDir, id: string): Promise<void> {
  try {
    // `wx`: if the shim's own exit file lands first, it wins.
    await writeFile(join(state.containerDir(id), 'exit'), `${LOST_EXIT_CODE}\n`, { flag: 'wx' });
    await appendFile(state.logFile(id),
      `[raw-exec] the exit status of this container was lost (its shim ended without recording one, e.g. after a reboot); reporting ${LOST_EXIT_CODE}\n`);
  } catch {
    // Already recorded, or the container was removed meanwhile.
  }
}

/** A file holding one integer and a newline (what the shim writes), with its mtime. */
async function readNumberFile(file: string): Promise<{ value: number; writtenAt: string } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    // Without the newline the writer is not done yet.
    const match = /^(\d+)\n$/.exec(text);
    return match ? { value: Number(match[1]), writtenAt: info.mtime.toISOString() } : undefined;
  } catch {
    return undefined;
  }
}

/** The main process's pid, once the shim has written it. */
export async function readContainerPid(state: StateDir, id: string): Promise<number | undefined> {
  return (await readNumberFile(join(state.containerDir(id), 'pid')))?.value;
}
