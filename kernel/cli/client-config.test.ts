import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientConfig } from './client-config';

let home: string;
let socket: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'kern-client-'));
  socket = join(home, 'kern.sock');
  writeFileSync(join(home, 'config.json'), JSON.stringify({ server: 'http://127.0.0.1:7070', token: 't', socket }));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('which transport the CLI uses', () => {
  it('goes over the socket config.json names when the file is there', () => {
    writeFileSync(socket, ''); // only its presence is checked here
    expect(loadClientConfig({ kernHome: home, env: {} })).toEqual({ server: 'http://127.0.0.1:7070', token: 't', kernHome: home, socketPath: socket });
  });

  it('uses TCP when the socket file is gone', () => {
    expect(loadClientConfig({ kernHome: home, env: {} }).socketPath).toBeUndefined();
  });

  it('uses TCP for a server given by flag or KERN_SERVER, even the one config.json names', () => {
    writeFileSync(socket, '');
    expect(loadClientConfig({ kernHome: home, env: {}, server: 'http://10.0.0.5:7070' }).socketPath).toBeUndefined();
    expect(loadClientConfig({ kernHome: home, env: { KERN_SERVER: 'http://10.0.0.5:7070' } }).socketPath).toBeUndefined();
    expect(loadClientConfig({ kernHome: home, env: {}, server: 'http://127.0.0.1:7070' }).socketPath).toBeUndefined();
  });
});
