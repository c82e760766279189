import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliContext } from '../../kernel/cli/cli-context';
import { parsePluginRef, runRegistryServe } from '../../kernel/cli/commands/registry-command';
import { createProgram } from '../../kernel/cli/program';
import { generateKeyPair } from '../package-format/package-signing';
import { PluginDetail } from '../registry-api';
import { RegistryHarness, makePackage, signPackage } from './testing/registry-fixtures';

/** The `kern registry` verbs, run in-process against a real registry on port 0. */

interface Result { code: number; stdout: string; stderr: string }

let tmp: string;
let home: string;
let harness: RegistryHarness;

async function kern(env: Record<string, string>, ...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string | Uint8Array) => (stdout += s) },
    stderr: { write: (s: string | Uint8Array) => (stderr += s) },
    env: { KERN_HOME: home, ...env },
  };
  process.exitCode = 0;
  await createProgram(io).exitOverride().parseAsync(['node', 'kern', ...args]);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}

/** Runs `kern` pointed at the test registry. */
function client(...args: string[]): Promise<Result> {
  return kern({ KERN_REGISTRY: harness.url }, ...args);
}

function writeKey(name: string) {
  const keys = generateKeyPair();
  const file = join(tmp, `${name}.pub`);
  writeFileSync(file, keys.publicKeyPem);
  return { keys, file };
}

/** The token line `publisher add` prints. */
function tokenIn(stdout: string): string {
  const m = /^token: (\S+)$/m.exec(stdout);
  if (!m) throw new Error(`no token in: ${stdout}`);
  return m[1];
}

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kern-registry-cli-'));
  home = join(tmp, 'home');
  // The default data dir: $KERN_HOME/registry.
  harness = new RegistryHarness(join(home, 'registry'));
  await harness.start();
});

afterEach(async () => {
  await harness.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('kern registry publisher and token', () => {
  it('adds a publisher, prints its token once, lists it and issues more tokens', async () => {
    const { keys, file } = writeKey('acme');
    const added = await kern({}, 'registry', 'publisher', 'add', 'acme', '--key', file);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`^publisher acme added \\(key ${keys.keyId}\\)\ntoken: kreg_\\S+\n$`));
    expect(added.stderr).toMatch(/shown only this once/);

    const created = await kern({}, 'registry', 'token', 'create', '--publisher', 'acme');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^kreg_\S+\n$/);

    const list = await kern({}, 'registry', 'publisher', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+KEY ID\s+PLUGINS\s+TOKENS\s+CREATED$/);
    expect(list.stdout.split('\n')[1]).toMatch(new RegExp(`^acme\\s+${keys.keyId}\\s+0\\s+2\\s+`));
    const json = JSON.parse((await kern({}, 'registry', 'publisher', 'list', '-o', 'json')).stdout);
    expect(json).toEqual([expect.objectContaining({ name: 'acme', keyId: keys.keyId, tokens: 2, plugins: 0 })]);

    // Both tokens work against the running server, which reads the same database.
    for (const token of [tokenIn(added.stdout), created.stdout.trim()]) {
      const res = await harness.post('/v1/plugins/nope/1.0.0/yank', token);
      expect(res.status).toBe(404);
    }
  });

  it.each([
    ['a taken name', ['acme', '--key', 'KEY'], /publisher acme already exists/],
    ['a bad name', ['Acme_Labs', '--key', 'KEY'], /publisher name "Acme_Labs"/],
    ['a missing key file', ['newco', '--key', 'missing.pub'], /--key missing\.pub: no such file/],
    ['a file that is not a public key', ['newco', '--key', 'NOT_A_KEY'], /not a PEM public key.*kern plugin keygen/],
    ['no --key', ['newco'], /--key <publisher.pub> is required/],
  ])('refuses %s', async (_what, args, message) => {
    const { file } = writeKey('acme');
    await kern({}, 'registry', 'publisher', 'add', 'acme', '--key', file);
    const notKey = join(tmp, 'not-a-key.pub');
    writeFileSync(notKey, 'hello');
    const res = await kern({}, 'registry', 'publisher', 'add', ...args.map((a) => (a === 'KEY' ? file : a === 'NOT_A_KEY' ? notKey : a)));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(message);
  });

  it('refuses a token for a publisher that does not exist', async () => {
    const res = await kern({}, 'registry', 'token', 'create', '--publisher', 'ghost');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/publisher ghost does not exist: register it first/);
  });
});

describe('kern registry publish, yank and deprecate', () => {
  let token: string;
  let keys: ReturnType<typeof generateKeyPair>;

  beforeEach(async () => {
    const key = writeKey('acme');
    keys = key.keys;
    token = tokenIn((await kern({}, 'registry', 'publisher', 'add', 'acme', '--key', key.file)).stdout);
  });

  it('publishes a package with the .sig beside it, and refuses it a second time', async () => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    signPackage(pkg, keys);
    const res = await client('registry', 'publish', pkg.file, '--token', token);
    expect(res.stderr).toMatch(/publishing hello@1\.0\.0 \(.*, signed with key [0-9a-f]{16}\) to http/);
    expect(res).toMatchObject({ code: 0, stdout: `published hello@1.0.0 digest sha512-${pkg.digest}\n` });
    const detail = await harness.json<PluginDetail>('/v1/plugins/hello');
    expect(detail.versions[0].signature?.keyId).toBe(keys.keyId);

    const again = await client('registry', 'publish', pkg.file, '--token', token);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error: hello@1\.0\.0 is already published: versions are immutable; publish a new version/);
  });

  it('publishes unsigned with the token from KERN_REGISTRY_TOKEN', async () => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    const res = await kern({ KERN_REGISTRY: harness.url, KERN_REGISTRY_TOKEN: token }, 'registry', 'publish', pkg.file);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/unsigned/);
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).versions[0].signature).toBeNull();
  });

  it('yanks with a reason, unyanks, deprecates and clears the deprecation', async () => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    expect((await client('registry', 'publish', pkg.file, '--token', token)).code).toBe(0);

    expect((await client('registry', 'yank', 'hello@1.0.0', '--reason', 'broken build', '--token', token)).stdout).toMatch(/^yanked hello@1\.0\.0/);
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).versions[0]).toMatchObject({ yanked: true, yankReason: 'broken build' });
    expect((await client('registry', 'unyank', 'hello@1.0.0', '--token', token)).stdout).toBe('unyanked hello@1.0.0\n');
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).versions[0].yanked).toBe(false);

    expect((await client('registry', 'deprecate', 'hello', '--message', 'use hello-world', '--token', token)).stdout).toBe('deprecated hello: use hello-world\n');
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).deprecated).toBe('use hello-world');
    expect((await client('registry', 'deprecate', 'hello', '--message', '', '--token', token)).stdout).toBe('hello is no longer deprecated\n');
  });

  it('shows the server\'s refusal with its field', async () => {
    const res = await client('registry', 'yank', 'hello@1.0.0', '--token', 'kreg_wrong');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: the publisher token is not valid on this registry/);
    expect(res.stderr).toMatch(/field: Authorization/);
  });

  it.each([
    [['registry', 'publish', 'x.kpkg'], /a publisher token is required: pass --token or set KERN_REGISTRY_TOKEN/],
    [['registry', 'yank', 'hello', '--token', 't'], /"hello" is not ID@VERSION/],
    [['registry', 'deprecate', 'hello', '--token', 't'], /--message is required/],
    [['registry', 'yank', 'hello@1.0.0', '--token', 't', '--registry', 'ftp://x'], /must be an http:\/\/ or https:\/\/ URL/],
  ])('refuses %j before calling the registry', async (args, message) => {
    const res = await client(...args);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(message);
  });

  it('says when the registry cannot be reached', async () => {
    const url = harness.url;
    await harness.stop();
    const res = await kern({}, 'registry', 'yank', 'hello@1.0.0', '--token', token, '--registry', url);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/cannot reach the registry at http:\/\/127\.0\.0\.1:\d+: is `kern registry serve` running\?/);
    await harness.start();
  });

  it('checks the package locally before uploading it', async () => {
    const bad = join(tmp, 'bad.kpkg');
    writeFileSync(bad, 'not a package');
    const res = await client('registry', 'publish', bad, '--token', token);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/is not a valid package/);
    expect(readFileSync(bad, 'utf8')).toBe('not a package');
  });
});

describe('kern registry serve', () => {
  it('prints the URL, serves, and stops on SIGTERM', async () => {
    let stdout = '';
    const ctx = new CliContext({ kernHome: home }, { stdout: { write: (s: string | Uint8Array) => (stdout += s) }, stderr: { write: () => undefined }, env: {} });
    const dataDir = join(tmp, 'served');
    const running = runRegistryServe(ctx, { dataDir, port: 0, logLevel: 'warn' });
    for (let i = 0; i < 100 && !stdout; i++) await new Promise((r) => setTimeout(r, 50));
    const m = /^registry listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(stdout);
    expect(m).not.toBeNull();
    expect(await (await fetch(`${m?.[1]}/healthz`)).text()).toBe('ok');
    expect(existsSync(join(dataDir, 'registry.db'))).toBe(true);
    process.emit('SIGTERM', 'SIGTERM');
    await expect(running).resolves.toBe(0);
  });
});

describe('kern registry serve on a taken port', () => {
  it('says the port is taken and how to pick another', async () => {
    const ctx = new CliContext({ kernHome: home }, { stdout: { write: () => undefined }, stderr: { write: () => undefined }, env: {} });
    const port = Number(new URL(harness.url).port);
    await expect(runRegistryServe(ctx, { dataDir: join(tmp, 'second'), port, logLevel: 'warn' }))
      .rejects.toThrow(/the port is taken \(is another `kern registry serve` running\?\); pick another with --port/);
  });
});

describe('parsePluginRef', () => {
  it.each([
    ['raw-exec@1.2.0', { id: 'raw-exec', version: '1.2.0' }],
    ['raw-exec@1.2.0-beta.1+b7', { id: 'raw-exec', version: '1.2.0-beta.1+b7' }],
  ])('splits %s', (ref, parts) => {
    expect(parsePluginRef(ref)).toEqual(parts);
  });

  it.each(['raw-exec', '@1.0.0', 'raw-exec@'])('refuses %s', (ref) => {
    expect(() => parsePluginRef(ref)).toThrow(/is not ID@VERSION/);
  });
});
