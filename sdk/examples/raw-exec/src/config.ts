import { errors } from '@kern/sdk';

/** The `plugins.runtime-raw-exec` section of the kernel config. */
export interface RawExecConfig {
  /**
   * Where sandboxes, containers, their logs and exit codes are kept. Default:
   * the plugin's data dir (`<data-dir>/plugins/runtime-raw-exec`). Keep it on
   * a local disk: the container shims write their exit codes there.
   */
  stateDir: string;
  /**
   * A statically linked busybox whose applets (`sh`, `nc`, `seq`, ...) go
   * first on every container's PATH, so pods written for `kern/busybox:1`
   * find the same tools. `false` leaves the PATH to the host's programs.
   * Default `/bin/busybox` (Debian's busybox-static).
   */
  busyboxPath: string | false;
  /** PATH after the applets when a container sets none. Default the usual `/usr/local/sbin:...:/bin`. */
  defaultPath: string;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_BUSYBOX_PATH = '/bin/busybox';

const FIELD_PREFIX = 'plugins.runtime-raw-exec';
const KNOWN_KEYS = ['stateDir', 'busyboxPath', 'defaultPath'];

/**
 * Validates a raw config section and fills in the defaults; `stateDir`
 * defaults to `defaultStateDir` (the plugin's data dir). Invalid names the
 * offending field.
 */
export function parseConfig(raw: Record<string, unknown> | undefined, defaultStateDir: string): RawExecConfig {
  const input = raw ?? {};
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.includes(key)) {
      throw errors.invalid(`${FIELD_PREFIX}.${key}`, `unknown setting (known: ${KNOWN_KEYS.join(', ')})`);
    }
  }
  const absolutePath = (key: string, value: unknown, fallback: string): string => {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !value.startsWith('/')) {
      throw errors.invalid(`${FIELD_PREFIX}.${key}`, `must be an absolute path, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const busyboxPath = input.busyboxPath === false ? false : absolutePath('busyboxPath', input.busyboxPath, DEFAULT_BUSYBOX_PATH);
  const defaultPath = input.defaultPath ?? DEFAULT_PATH;
  if (typeof defaultPath !== 'string' || defaultPath.trim() === '') {
    throw errors.invalid(`${FIELD_PREFIX}.defaultPath`, 'must be a non-empty PATH string (directories separated by ":")');
  }
  return {
    stateDir: absolutePath('stateDir', input.stateDir, defaultStateDir),
    busyboxPath,
    defaultPath,
  };
}
