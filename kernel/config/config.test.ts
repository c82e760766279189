import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

describe('the HTTP API idle-poll setting', () => {
  it('defaults to 500 µs, and KERN_HTTP_IDLE_POLL_US or the config sets it (0 turns it off; an empty variable is unset)', () => {
    expect(loadConfig({ env }).http.idlePollMicros).toBe(500);
    expect(loadConfig({ env: { ...env, KERN_HTTP_IDLE_POLL_US: '0' } }).http.idlePollMicros).toBe(0);
    expect(loadConfig({ env: { ...env, KERN_HTTP_IDLE_POLL_US: ' 300 ' } }).http.idlePollMicros).toBe(300);
    expect(loadConfig({ env: { ...env, KERN_HTTP_IDLE_POLL_US: '' } }).http.idlePollMicros).toBe(500);
    expect(loadConfig({ env, flags: { http: { idlePollMicros: 200 } } }).http.idlePollMicros).toBe(200);
  });

  it('refuses a value that is not a whole number of microseconds from 0 to 2000, naming the field', () => {
    for (const bad of ['fast', '-1', '2.5', '1e3', '0x1f4', '2001']) {
      expect(() => loadConfig({ env: { ...env, KERN_HTTP_IDLE_POLL_US: bad } })).toThrow(expect.objectContaining({ field: 'config.http.idlePollMicros' }));
    }
    expect(() => loadConfig({ env, flags: { http: { idlePollMicros: '5' as unknown as number } } })).toThrow(expect.objectContaining({ field: 'config.http.idlePollMicros' }));
  });
});

describe('the config file', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'kern-config-file-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (yaml: string) => {
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, yaml);
    return loadConfig({ env, configFile });
  };

  it('sets what it names', () => {
    expect(load('logLevel: debug\nhttp: {port: 7777}\n')).toMatchObject({ logLevel: 'debug', http: expect.objectContaining({ port: 7777 }) });
    expect(load('# nothing set\n').logLevel).toBe('info');
  });

  it.each([
    ['a syntax error, with line and column', 'logLevel: debug\nlogLevel: info\n', /is not valid YAML: line 2, column 1: .*unique/],
    ['two documents', 'logLevel: debug\n---\nlogLevel: info\n', /holds 2 YAML documents/],
    ['nesting 5,000 levels deep', `http: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /is not valid YAML: line 1, column \d+: is indented or nested too deep/],
  ])('refuses %s, naming the file', (_what, yaml, message) => {
    expect(() => load(yaml)).toThrow(expect.objectContaining({ field: 'config', message: expect.stringMatching(message) }));
  });
});
