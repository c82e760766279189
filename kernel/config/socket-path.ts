/**
 * Longest Unix socket path Linux accepts: sun_path holds 108 bytes, the
 * terminating NUL included. Every socket the kernel listens on checks it.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Whether `path` fits in a Unix socket address. */
export function fitsSocketPath(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES;
}
