import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { Server, Socket, connect, createServer } from 'node:net';
import { errors } from '@kern/sdk';

/**
 * Longest Unix socket path Linux accepts (sun_path is 108 bytes with its
 * terminating NUL).
 */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface UnixListener {
  readonly path: string;
  /** Stops accepting and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Listens on a Unix socket at `path` (mode 0600, so only this user can
 * connect) and hands every connection to `onConnection`. A socket file left
 * by a kernel that died is replaced; one a running server still answers on
 * is refused, as is a path that is not a socket.
 */
export async function listenUnixSocket(path: string, onConnection: (socket: Socket) => void): Promise<UnixListener> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw errors.invalid('http.socket', `${path} is ${Buffer.byteLength(path)} bytes, longer than a Unix socket path may be (${MAX_SOCKET_PATH_BYTES}): choose a shorter path, or "" to turn the socket off`);
  }
  await removeStaleSocket(path);
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The file is created with the process umask; tighten it before anyone is told where it is.
  chmodSync(path, 0o600);
  return { path, close: () => closeUnixServer(server) };
}

async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) throw errors.invalid('http.socket', `${path} exists and is not a socket: move it away, or choose another path`);
  if (await answers(path)) {
    throw errors.unavailable(`${path} is in use by a running server (is another \`kern up\` using this data dir?); stop it, or choose another --socket`);
  }
  unlinkSync(path);
}

/** Whether something accepts connections on the socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
}

/** Stops accepting; Node (libuv) removes the socket file as the server closes. */
function closeUnixServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
