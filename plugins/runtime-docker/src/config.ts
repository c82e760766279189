import { errors } from '@kern/sdk';

/** How a sandbox's network namespace is made until the network plugin wires it itself. */
export type SandboxNetworkMode = 'bridge' | 'none';
export const SANDBOX_NETWORK_MODES: readonly SandboxNetworkMode[] = ['bridge', 'none'];

/** The `plugins.runtime-docker` section of the kernel config. */
export interface DockerRuntimeConfig {
  /** Unix socket of the Docker engine. Default `/var/run/docker.sock`. */
  socketPath: string;
  /** Image of the sandbox (infra) container. Default `kern/pause:1`, built locally on first use. */
  pauseImage: string;
  /**
   * Network of the sandbox container. Default `bridge` (Docker's default
   * bridge: an interim default until the network plugin attaches the
   * namespace itself); `none` gives the pod a loopback-only namespace for a
   * network driver to attach to.
   */
  sandboxNetworkMode: SandboxNetworkMode;
  /** Statically linked busybox that `kern/pause:*` and `kern/busybox:*` are built from. Default `/bin/busybox`. */
  busyboxPath: string;
}

export const DEFAULT_CONFIG: Readonly<DockerRuntimeConfig> = {
  socketPath: '/var/run/docker.sock',
  pauseImage: 'kern/pause:1',
  sandboxNetworkMode: 'bridge',
  busyboxPath: '/bin/busybox',
};

const FIELD_PREFIX = 'plugins.runtime-docker';

/** Validates a raw config section and fills in defaults; Invalid names the field. */
export function parseConfig(raw: Record<string, unknown> | undefined): DockerRuntimeConfig {
  const input = raw ?? {};
  const known = Object.keys(DEFAULT_CONFIG);
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      throw errors.invalid(`${FIELD_PREFIX}.${key}`, `unknown setting (known: ${known.join(', ')})`);
    }
  }
  const text = (key: keyof DockerRuntimeConfig): string => {
    const value = input[key];
    if (value === undefined) return DEFAULT_CONFIG[key];
    if (typeof value !== 'string' || value.trim() === '') {
      throw errors.invalid(`${FIELD_PREFIX}.${key}`, 'must be a non-empty string');
    }
    return value;
  };
  const sandboxNetworkMode = text('sandboxNetworkMode');
  if (!SANDBOX_NETWORK_MODES.includes(sandboxNetworkMode as SandboxNetworkMode)) {
    throw errors.invalid(`${FIELD_PREFIX}.sandboxNetworkMode`,
      `must be one of ${SANDBOX_NETWORK_MODES.join(', ')}, got ${JSON.stringify(sandboxNetworkMode)}`);
  }
  return {
    socketPath: text('socketPath'),
    pauseImage: text('pauseImage'),
    sandboxNetworkMode: sandboxNetworkMode as SandboxNetworkMode,
    busyboxPath: text('busyboxPath'),
  };
}
