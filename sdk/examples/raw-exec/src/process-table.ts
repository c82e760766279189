import { readFileSync } from 'node:fs';

/**
 * What the driver needs to know about a host process, from
 * `/proc/<pid>/stat` (Linux only). The start time (clock ticks after boot)
 * tells a process apart from a later one that got the same pid.
 */
export interface ProcessStat {
  /** `R`, `S`, `D`, `Z` (zombie: exited, not yet reaped), ... */
  state: string;
  /** Session id; a container's main process leads its own session. */
  session: number;
  startTime: string;
}

/** The stat of `pid`, or undefined when there is no such process. */
export function readProcessStat(pid: number): ProcessStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces
  // or parentheses: the fields after it start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], session: Number(fields[3]), startTime: fields[19] };
}

/** True while `pid` runs (not a zombie) and, when given, started at `startTime`. */
export function isRunning(pid: number, startTime?: string): boolean {
  const stat = readProcessStat(pid);
  if (!stat || stat.state === 'Z') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** This boot's id: pids and start times only mean something within one boot. */
export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Sends `signal` to every process of group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}
