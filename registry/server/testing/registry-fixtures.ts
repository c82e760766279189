import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packPlugin } from '../../package-format/pack-plugin';
import { PackageSignature, PublisherKeyPair, generateKeyPair, signDigest } from '../../package-format/package-signing';
import { withPublisherAccounts } from '../publisher-accounts';
import { RegistryServerOptions, RunningRegistry, startRegistryServer } from '../registry-server';

/** Test helpers for the registry: plugin packages made with the real packer, and a registry on port 0. */

export interface FixturePlugin {
  id: string;
  version: string;
  name?: string;
  description?: string;
  provides?: { kind: string; name: string }[];
  requires?: Record<string, string>;
  /** The built entry's text (changes the digest). */
  code?: string;
}

export interface FixturePackage {
  file: string;
  digest: string;
  bytes: number;
}

/** Writes a plugin folder (package.json with a kern section, README.md, dist/index.js) under `root` and packs it. */
export async function makePackage(root: string, p: FixturePlugin): Promise<FixturePackage> {
  const dir = join(root, 'src', `${p.id}-${p.version}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: p.name ?? `@kern-test/${p.id}`,
    version: p.version,
    description: p.description ?? `the ${p.id} test plugin`,
    main: 'dist/index.js',
    kern: { id: p.id, kernelAbi: '^1.0.0', provides: p.provides ?? [], ...(p.requires ? { requires: p.requires } : {}) },
  }, null, 2));
  writeFileSync(join(dir, 'README.md'), `# ${p.id}\n`);
  writeFileSync(join(dir, 'dist', 'index.js'), p.code ?? `module.exports = { id: ${JSON.stringify(p.id)} };\n`);
  const packed = await packPlugin(dir, join(root, 'out', `${p.id}-${p.version}.kpkg`));
  return { file: packed.file, digest: packed.digest, bytes: packed.bytes };
}

/** Signs a package as `kern plugin sign` does, writing `<file>.sig`. */
export function signPackage(pkg: FixturePackage, keys: PublisherKeyPair): PackageSignature {
  const sig = signDigest(keys.privateKeyPem, pkg.digest);
  writeFileSync(`${pkg.file}.sig`, JSON.stringify(sig, null, 2) + '\n');
  return sig;
}

export interface FixturePublisher {
  name: string;
  token: string;
  keys: PublisherKeyPair;
}

/** Registers a publisher in `dataDir` as `kern registry publisher add` does. */
export function addPublisher(dataDir: string, name: string): FixturePublisher {
  const keys = generateKeyPair();
  const { token } = withPublisherAccounts(dataDir, (a) => a.add(name, keys.publicKeyPem));
  return { name, token, keys };
}

/** A registry on 127.0.0.1:0 that can be restarted on the same data dir. */
export class RegistryHarness {
  registry?: RunningRegistry;

  constructor(readonly dataDir: string, private readonly options: Partial<RegistryServerOptions> = {}) {}

  get url(): string {
    if (!this.registry) throw new Error('the registry is not running');
    return this.registry.url;
  }

  async start(): Promise<void> {
    this.registry = await startRegistryServer({ dataDir: this.dataDir, host: '127.0.0.1', port: 0, ...this.options });
  }

  async stop(): Promise<void> {
    await this.registry?.close();
    this.registry = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(this.url + path, init);
  }

  /** `PUT /v1/plugins/:id/:version` with the package bytes and, when given, its signature. */
  publish(id: string, version: string, body: Buffer, token: string | undefined, sig?: Partial<PackageSignature>): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (sig?.keyId !== undefined) headers['kern-signature-key-id'] = sig.keyId;
    if (sig?.signature !== undefined) headers['kern-signature'] = sig.signature;
    return this.fetch(`/v1/plugins/${id}/${version}`, { method: 'PUT', headers, body });
  }

  /** A POST with a JSON body. */
  post(path: string, token: string | undefined, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return this.fetch(path, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  async json<T = any>(path: string): Promise<T> {
    const res = await this.fetch(path);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<T>;
  }
}
