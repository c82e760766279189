export interface EnvironmentInput {
  /** What the container spec sets; wins over the defaults below. */
  specEnv?: Record<string, string>;
  /** The busybox applet directory, put first on PATH; absent when busybox is off. */
  appletDir?: string;
  /** PATH when the spec sets none. */
  defaultPath: string;
  home: string;
  tmpDir: string;
  hostname: string;
}

/**
 * The whole environment of a container's processes. Nothing is inherited
 * from the driver (its environment may hold the kernel's secrets): HOME and
 * the working directory default to the sandbox's `work/` directory, TMPDIR
 * to its `tmp/`, HOSTNAME to the pod's hostname (the real hostname is the
 * host's), and PATH to `defaultPath` — with the busybox applets in front
 * of whatever PATH ends up being.
 */
export function containerEnvironment(input: EnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {
    PATH: input.defaultPath,
    HOME: input.home,
    TMPDIR: input.tmpDir,
    HOSTNAME: input.hostname,
    ...input.specEnv,
  };
  env.PATH = withApplets(env.PATH, input.appletDir);
  return env;
}

/** `path` with the applet directory first (once). */
export function withApplets(path: string, appletDir: string | undefined): string {
  if (!appletDir) return path;
  const rest = path.split(':').filter((dir) => dir !== appletDir && dir !== '');
  return [appletDir, ...rest].join(':');
}
