import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors } from '@kern/sdk';

/**
 * The shim: one small POSIX shell per container that outlives the driver.
 * It starts the command through `setsid` (so the command leads its own
 * session and process group, which stopContainer signals), appends its
 * stdout and stderr to the log, writes the command's pid, waits for it,
 * kills whatever is left of its process group (as a container dies with its
 * main process) and writes the exit code (`128 + n` for signal n). SIGTERM
 * and SIGINT sent to the shim itself are passed on to the command.
 *
 * The variable names are unusual because the shim runs with the container's
 * environment, which the command inherits. Exit and pid files are written
 * with one `printf` each and end with a newline, so a reader can tell a
 * complete file from one being written.
 *
 * Usage: `sh container-shim-v1.sh CONTAINER_DIR SETSID COMMAND [ARG...]`.
 */
export const SHIM_SCRIPT = `# kern raw-exec container shim (see container-shim.ts)
_kern_shim_dir=$1; _kern_shim_setsid=$2; shift 2
"$_kern_shim_setsid" "$@" </dev/null >>"$_kern_shim_dir/log" 2>&1 &
_kern_shim_child=$!
printf '%s\\n' "$_kern_shim_child" >"$_kern_shim_dir/pid"
trap 'kill -TERM -"$_kern_shim_child" 2>/dev/null' TERM
trap 'kill -INT -"$_kern_shim_child" 2>/dev/null' INT
trap '' HUP
while :; do
  wait "$_kern_shim_child"; _kern_shim_code=$?
  # wait also returns when a trapped signal arrives; the child is then still there.
  kill -0 "$_kern_shim_child" 2>/dev/null || break
done
kill -KILL -"$_kern_shim_child" 2>/dev/null
printf '%s\\n' "$_kern_shim_code" >"$_kern_shim_dir/exit"
`;

/** Versioned: a shim already running keeps reading its own file. */
const SHIM_FILE = 'container-shim-v1.sh';

/** Writes the shim into `<stateDir>/bin` unless it is there already; returns its path. */
export async function installShim(stateDir: string): Promise<string> {
  const dir = join(stateDir, 'bin');
  const file = join(dir, SHIM_FILE);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === SHIM_SCRIPT) return file;
  await mkdir(dir, { recursive: true });
  // A shell reads its script while it runs: replace the file, never rewrite it.
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, SHIM_SCRIPT, { mode: 0o644 });
  await rename(temporary, file);
  return file;
}

export interface ShimLaunch {
  shimPath: string;
  setsidPath: string;
  containerDir: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * Starts the shim detached (its own session, no stdio tied to the driver,
 * not keeping the driver's event loop alive), so it and the container keep
 * running when the driver exits. Resolves with the shim's pid.
 */
export function launchShim(launch: ShimLaunch): Promise<number> {
  return new Promise((resolve, reject) => {
    const shim = spawn('/bin/sh', [launch.shimPath, launch.containerDir, launch.setsidPath, ...launch.argv], {
      cwd: launch.cwd,
      env: launch.env,
      detached: true,
      stdio: 'ignore',
    });
    shim.once('error', (e) => reject(errors.internal(`cannot start the container shim (/bin/sh): ${e.message}`, { cause: e })));
    shim.once('spawn', () => {
      shim.unref();
      resolve(shim.pid!);
    });
  });
}
