import net from 'node:net';

/** Where a connection goes: a TCP host and port, or a Unix socket. */
export type HttpTarget = { host: string; port: string | number } | { socketPath: string };

export interface HttpReply {
  status: number;
  body: Buffer;
}

/**
 * One HTTP/1.1 keep-alive connection of a load generator: one request in
 * flight at a time, its head written once per connection and reused, each
 * reply read by its Content-Length.
 *
 * Why not node:http or autocannon: in a closed loop every microsecond the
 * client spends on a reply is added to the round trip, so the client's cost
 * lowers the rate measured for the server. On this 2-core VM node:http's
 * client costs 150-170 µs of CPU per request and autocannon 90-135 µs; this
 * 58-76 µs (bare node:http server, 20,000 requests, same run). It reads only
 * what Kern and a bare node:http server send to these requests: a reply
 * with a Content-Length. Anything else (chunked, no length, a second reply
 * while none is awaited) fails the request rather than being guessed at.
 */
export class KeepAliveConnection {
  private readonly socket: net.Socket;
  private buffered: Buffer | null = null;
  private waiting?: { resolve(reply: HttpReply): void; reject(err: Error): void };
  private broken?: Error;

  /** `head`: the request line and headers up to `content-length: ` (see {@link postHead}). */
  constructor(target: HttpTarget, private readonly head: string) {
    // Replies are read into one reused buffer (net's `onread`), not through
    // the stream's 'data' events: 10-15% less client CPU per request here.
    // So what is kept past onData is copied.
    const onread = { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n: number, buf: Buffer) => { this.onData(buf.subarray(0, n)); return true; } };
    this.socket = 'socketPath' in target
      ? net.connect({ path: target.socketPath, onread })
      : net.connect({ port: Number(target.port), host: target.host, onread });
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  /** Sends `body` and resolves with the reply (any status). */
  send(body: string): Promise<HttpReply> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.waiting) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise<HttpReply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(`${this.head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.broken ??= new Error('the connection was closed');
    this.socket.destroy();
  }

  /** `chunk` is a view of the reused read buffer: valid only until this returns. */
  private onData(chunk: Buffer): void {
    const data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.buffered = null;
    const headEnd = data.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      this.buffered = Buffer.from(data);
      return;
    }
    const head = data.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (!length || /\r\ntransfer-encoding:/i.test(head)) {
      this.fail(new Error(`a reply without a plain Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const end = headEnd + 4 + Number(length[1]);
    if (data.length < end) {
      this.buffered = Buffer.from(data);
      return;
    }
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    const waiting = this.waiting;
    if (!status || !waiting || data.length > end) {
      this.fail(new Error(!status ? `not an HTTP reply: ${head.slice(0, 40)}` : 'a reply arrived with no request in flight'));
      return;
    }
    const body = Buffer.from(data.subarray(headEnd + 4, end));
    this.waiting = undefined;
    waiting.resolve({ status: Number(status[1]), body });
  }

  private fail(err: Error): void {
    this.broken ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
    this.socket.destroy();
  }
}

/** The head of a JSON POST to `path`, ending where the body's length goes. */
export function postHead(path: string, headers: Record<string, string>): string {
  const lines = [`POST ${path} HTTP/1.1`, 'host: localhost', 'content-type: application/json'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\ncontent-length: `;
}
