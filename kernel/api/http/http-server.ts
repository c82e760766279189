import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { ApiContext } from '../api-context';
import { createHttpApp } from './http-app';
import { IdlePoller } from './idle-poller';
import { UnixListener, listenUnixSocket } from './unix-listener';
import { StreamTracker } from './watch-stream';

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (see the returned address). */
  port: number;
  /** A Unix socket path the same API also listens on; empty or absent for none. */
  socket?: string;
  /** Longest the event loop polls for the next request after answering one (see IdlePoller); 0 = never. */
  idlePollMicros?: number;
}

export interface RunningHttpServer {
  server: Server;
  address: { host: string; port: number };
  /** The Unix socket path, when the API listens on one. */
  socket?: string;
  /** Polls the event loop through short gaps between requests (idlePollMicros). */
  idlePoller: IdlePoller;
  /** Stops listening, ends open watch streams, and closes connections (forcibly after a short grace). */
  close(): Promise<void>;
}

/** How long in-flight requests get to finish once close() has been called. */
const CLOSE_GRACE_MS = 1000;

export async function startHttpServer(api: ApiContext, options: HttpServerOptions): Promise<RunningHttpServer> {
  const streams = new StreamTracker();
  const poller = new IdlePoller((options.idlePollMicros ?? 0) / 1000);
  const app = createHttpApp(api, { streams, poller });
  const server = createServer({ keepAlive: true }, app.callback());
  // Longer than the usual client idle timeouts, so a client's pooled
  // connection is not closed under it by the server first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Watches are long requests; only the request head must arrive promptly.
  server.requestTimeout = 0;

  // Requests in flight per connection, so close() can drop connections that
  // carry none: Node's closeIdleConnections() leaves alone a connection that
  // was opened but never sent a request (clients pre-connect). Tracked from
  // before either listener opens, so no connection escapes it.
  const busy = new Map<Socket, number>();
  let closing: Promise<void> | undefined;
  server.on('connection', (socket: Socket) => {
    busy.set(socket, 0);
    socket.once('close', () => busy.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      busy.set(socket, left);
      if (closing && left === 0) socket.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => api.logger.error({ err }, 'http server error'));
  const bound = server.address() as AddressInfo;
  // Local clients may come over the Unix socket: the same server (and the
  // bookkeeping above) serves them.
  let unix: UnixListener | undefined;
  if (options.socket) {
    try {
      unix = await listenUnixSocket(options.socket, (socket) => server.emit('connection', socket), api.logger);
    } catch (e) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      throw e;
    }
  }

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      // closeAllConnections() also ends the socket's connections: they are
      // the HTTP server's, though the TCP listener does not count them.
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      const tcpClosed = new Promise<void>((done) => server.close(() => done()));
      void Promise.all([tcpClosed, unix?.close()]).then(() => {
        clearTimeout(force);
        resolve();
      });
      poller.stop();
      streams.closeAll();
      for (const [socket, n] of busy) if (n === 0) socket.destroy();
    });
    return closing;
  };

  return { server, address: { host: bound.address, port: bound.port }, socket: unix?.path, idlePoller: poller, close };
}
