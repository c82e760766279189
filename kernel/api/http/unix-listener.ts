import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { Server, Socket, connect, createServer } from 'node:net';
import { KernelError, Logger, errors } from '@kern/sdk';
import { MAX_SOCKET_PATH_BYTES, fitsSocketPath } from '../../config/socket-path';

export interface UnixListener {
  readonly path: string;
  /** Stops accepting and removes the socket file; open connections are the caller's to end. */
  close(): Promise<void>;
}

/**
 * Listens on a Unix socket at `path`, created with mode 0600 so only this
 * user can connect, and hands every connection to `onConnection`. A socket
 * file left by a kernel that died is replaced; one a server still answers
 * on is refused, as is a path that is not a socket.
 */
export async function listenUnixSocket(path: string, onConnection: (socket: Socket) => void, logger: Logger): Promise<UnixListener> {
  if (!fitsSocketPath(path)) {
    throw errors.invalid('http.socket', `${path} is ${Buffer.byteLength(path)} bytes, longer than a Unix socket path may be (${MAX_SOCKET_PATH_BYTES}): choose a shorter --socket, or "" to turn the socket off`);
  }
  await clearStaleSocket(path);
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(listenError(path, e)));
    // The bind creates the file synchronously inside listen() (in a process
    // that is not a cluster worker, as the kernel is not): a umask of 077
    // for that moment gives it mode 0600 from the start.
    const umask = process.umask(0o077);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  server.removeAllListeners('error');
  // A failed accept (out of file descriptors, say) must not end the kernel.
  server.on('error', (err) => logger.warn({ err, path }, 'unix socket accept failed'));
  try {
    chmodSync(path, 0o600); // in case the file system ignored the umask
  } catch (e) {
    await closeUnixServer(server);
    throw e;
  }
  return { path, close: () => closeUnixServer(server) };
}

/**
 * Makes `path` free for a new socket: nothing there, or a socket file a
 * dead server left (removed). Refuses a path a server still answers on, and
 * one that is not a socket.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw listenError(path, e);
  }
  if (!isSocket) throw errors.invalid('http.socket', `${path} exists and is not a socket: move it away, or choose another --socket`);
  const probe = await probeSocket(path);
  // Only a refused connection proves nobody serves there; a permission
  // error or a full backlog (EAGAIN on Linux) may hide a live server.
  if (probe === 'ECONNREFUSED') {
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw listenError(path, e);
    }
    return;
  }
  if (probe === 'ENOENT') return; // gone meanwhile
  throw errors.unavailable(probe === 'answered'
    ? `${path} is in use by a running server (another kernel given the same --socket?): stop it, or choose another --socket`
    : `cannot tell whether ${path} is in use (connecting gave ${probe}): remove it if no kernel runs, or choose another --socket`);
}

/** 'answered' when something accepts connections at `path`, else the connect error's code. */
function probeSocket(path: string): Promise<string> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => { probe.destroy(); resolve('answered'); });
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** A listen failure as a user can act on it: the setting named, not the TCP ports' hint. */
function listenError(path: string, e: unknown): KernelError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'EACCES' ? 'no permission to create it there'
    : code === 'EADDRINUSE' ? 'the path is taken'
      : (e as Error).message;
  return new KernelError('Unavailable', `cannot listen on the Unix socket ${path}: ${why}; choose another --socket, or "" to turn it off`, {
    field: 'http.socket', cause: e,
  });
}

/** Stops accepting; Node (libuv) removes the socket file as the server closes. */
function closeUnixServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
