import { KernelError } from '@kern/sdk';
import { explainBootError, parsePort, readyLine, upFlags } from './up-command';

describe('kern up flags', () => {
  it.each([
    [{}, {}],
    [{ port: 0, grpcPort: 0 }, { http: { port: 0 }, grpc: { port: 0 } }],
    [{ host: '0.0.0.0', port: 8080 }, { http: { host: '0.0.0.0', port: 8080 }, grpc: { host: '0.0.0.0' } }],
    [{ dataDir: '/d', logLevel: 'debug' }, { dataDir: '/d', logLevel: 'debug' }],
    [{ socket: '/run/kern.sock' }, { http: { socket: '/run/kern.sock' } }],
    [{ socket: '' }, { http: { socket: '' } }],
  ])('%j → %j', (options, flags) => {
    expect(upFlags(options)).toEqual(flags);
  });

  it.each(['0', '7070', '65535'])('accepts port %s', (p) => expect(parsePort(p)).toBe(Number(p)));
  it.each(['-1', '65536', 'abc', '1.5', ''])('refuses port %j', (p) => expect(() => parsePort(p)).toThrow('must be a port'));
});

describe('the ready line', () => {
  it('shows the bound endpoints, the data dir and where the token is', () => {
    const kernel = { endpoints: { http: 'http://127.0.0.1:40123', grpc: '127.0.0.1:40124' } };
    expect(readyLine(kernel, { dataDir: '/root/.kern/data', kernHome: '/root/.kern', writeClientConfig: true }))
      .toBe('Kern ready — API http://127.0.0.1:40123, gRPC 127.0.0.1:40124, data /root/.kern/data (admin token in /root/.kern/config.json)');
    expect(readyLine(kernel, { dataDir: '/d', kernHome: '/h', writeClientConfig: false })).toMatch(/\(admin token in \/d\/auth\/admin\.token\)$/);
  });

  it('names the Unix socket when the API listens on one', () => {
    const kernel = { endpoints: { http: 'http://127.0.0.1:7070', grpc: '127.0.0.1:7071', socket: '/d/kern.sock' } };
    expect(readyLine(kernel, { dataDir: '/d', kernHome: '/h', writeClientConfig: true }))
      .toBe('Kern ready — API http://127.0.0.1:7070 and /d/kern.sock, gRPC 127.0.0.1:7071, data /d (admin token in /h/config.json)');
  });
});

it('explains a port in use', () => {
  const e = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:7070'), { code: 'EADDRINUSE' });
  expect((explainBootError(e) as Error).message).toBe('listen EADDRINUSE: address already in use 127.0.0.1:7070: the port is taken (is another `kern up` running?); pick another with --port / --grpc-port (0 picks a free one)');
});

it('leaves a Unix socket failure as it is: its message names --socket, not the ports', () => {
  const e = new KernelError('Unavailable', 'cannot listen on the Unix socket /d/kern.sock: the path is taken; choose another --socket, or "" to turn it off', {
    field: 'http.socket', cause: Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }),
  });
  expect(explainBootError(e)).toBe(e);
});
