import { join } from 'node:path';
import { loadConfig } from './config';

const env = { KERN_HOME: '/tmp/kern-config-test' };

describe('the HTTP API socket setting', () => {
  it('defaults to kern.sock in the data dir, following --data-dir', () => {
    expect(loadConfig({ env }).http.socket).toBe('/tmp/kern-config-test/data/kern.sock');
    expect(loadConfig({ env, flags: { dataDir: '/srv/kern' } }).http.socket).toBe('/srv/kern/kern.sock');
  });

  it('takes a path from the flag or KERN_SOCKET, made absolute; "" turns it off', () => {
    expect(loadConfig({ env, flags: { http: { socket: 'run/k.sock' } } }).http.socket).toBe(join(process.cwd(), 'run/k.sock'));
    expect(loadConfig({ env: { ...env, KERN_SOCKET: '/run/kern.sock' } }).http.socket).toBe('/run/kern.sock');
    expect(loadConfig({ env: { ...env, KERN_SOCKET: '' } }).http.socket).toBe('');
    expect(loadConfig({ env, flags: { http: { socket: '' } } }).http.socket).toBe('');
  });

  it('leaves the default off when the data dir is too deep for a socket path', () => {
    const deep = `/tmp/${'d'.repeat(120)}`;
    expect(loadConfig({ env, flags: { dataDir: deep } }).http.socket).toBe('');
  });

  it('refuses a given path too long for a socket, or not a string, naming the field', () => {
    expect(() => loadConfig({ env, flags: { http: { socket: `/tmp/${'s'.repeat(120)}.sock` } } })).toThrow(expect.objectContaining({ field: 'config.http.socket' }));
    expect(() => loadConfig({ env, flags: { http: { socket: 7 as unknown as string } } })).toThrow(expect.objectContaining({ field: 'config.http.socket' }));
  });
});
