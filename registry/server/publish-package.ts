import { readFile, rm } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import * as semver from 'semver';
import { KernelError, Logger, PluginManifest, isKernelError } from '@kern/sdk';
import { PLUGIN_ID_PATTERN, validateManifest } from '../../kernel/plugins/manifest';
import { extractPackage } from '../package-format/extract-package';
import { PACKAGE_ERROR_CODES, PackageManifest } from '../package-format/package-digest';
import { PackageSignature, verifySignature } from '../package-format/package-signing';
import { PackageBlobs, ReceivedPackage } from './package-blobs';
import { PluginCatalog, StoredVersion } from './plugin-catalog';
import { Publisher } from './publisher-accounts';
import { SIGNATURE_HEADER, SIGNATURE_KEY_ID_HEADER } from '../registry-api';
import { REGISTRY_ERROR_CODES, badRequest } from './registry-status';

export interface PublishRequest {
  publisher: Publisher;
  /** From the URL. */
  id: string;
  version: string;
  /** From the Kern-Signature-Key-Id and Kern-Signature headers, when sent. */
  signature?: PackageSignature;
  /** The raw .kpkg bytes. */
  body: IncomingMessage;
}

/** 400 unless `id` is a plugin id (kebab-case). */
export function requirePluginId(id: string): string {
  if (!PLUGIN_ID_PATTERN.test(id)) {
    throw badRequest('id', `plugin id ${JSON.stringify(id)} must be kebab-case (lower-case letters, digits and single dashes, starting with a letter)`);
  }
  return id;
}

/** 400 unless `version` is a semver version written canonically (`1.2.3`, not `v1.2.3`). */
export function requireVersion(version: string): string {
  const parsed = semver.parse(version);
  // semver's own form leaves build metadata out; it is part of what was published.
  const canonical = parsed && parsed.version + (parsed.build.length ? `+${parsed.build.join('.')}` : '');
  if (canonical !== version) {
    throw badRequest('version', `version ${JSON.stringify(version)} is not a semver version such as 1.2.3`);
  }
  return version;
}

/** The signature headers of a publish: both or neither. */
export function signatureFromHeaders(keyId: string | undefined, signature: string | undefined): PackageSignature | undefined {
  if (!keyId && !signature) return undefined;
  if (!keyId) throw badRequest(SIGNATURE_KEY_ID_HEADER, `${SIGNATURE_HEADER} was sent without ${SIGNATURE_KEY_ID_HEADER}: send both (the keyId and signature of the .kpkg.sig file) or neither`);
  if (!signature) throw badRequest(SIGNATURE_HEADER, `${SIGNATURE_KEY_ID_HEADER} was sent without ${SIGNATURE_HEADER}: send both (the keyId and signature of the .kpkg.sig file) or neither`);
  return { keyId, signature };
}

/**
 * Publishing one version: checks who may publish it, receives the package,
 * verifies it (digest, safe paths, manifest, signature), then records it and
 * moves the file into place in one step. Anything refused leaves the stored
 * data as it was.
 */
export class PackagePublisher {
  constructor(
    private readonly catalog: PluginCatalog,
    private readonly blobs: PackageBlobs,
    private readonly maxBytes: number,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async publish(r: PublishRequest): Promise<StoredVersion> {
    const id = requirePluginId(r.id);
    const version = requireVersion(r.version);
    // Checked before the upload so a refusal costs no transfer; checked again
    // when recording, as another publish may have won in between.
    this.assertPublishable(r.publisher, id, version);
    if (r.signature) this.assertPublisherKey(r.publisher, r.signature);

    const upload = await this.blobs.receive(r.body, this.maxBytes);
    let committed = false;
    try {
      const { pkg, manifest } = await this.inspect(upload);
      assertSameIdentity(pkg, manifest);
      assertMatchesUrl(manifest, id, version);
      if (r.signature) this.assertSignature(r.publisher, r.signature, pkg.digest);
      const stored: Omit<StoredVersion, 'yanked' | 'yankReason' | 'downloads'> = {
        pluginId: id,
        version,
        manifest: {
          name: manifest.name,
          description: manifest.description,
          kernelAbi: manifest.kernelAbi,
          requires: manifest.requires,
          provides: manifest.provides.map((p) => ({ kind: p.kind, name: p.name })),
          syscalls: manifest.syscalls,
        },
        digest: pkg.digest,
        size: upload.size,
        signature: r.signature ?? null,
        publishedAt: this.now().toISOString(),
      };
      try {
        this.catalog.transaction(() => {
          this.assertPublishable(r.publisher, id, version);
          this.catalog.insertVersion(r.publisher.name, stored);
          this.blobs.commit(upload, id, version);
          committed = true;
        });
      } catch (e) {
        // The rename was the last step; only a failed COMMIT gets here with it done.
        if (committed) this.blobs.discard(id, version);
        throw e;
      }
      this.logger.info({ plugin: id, version, publisher: r.publisher.name, bytes: upload.size, signed: !!r.signature }, 'plugin version published');
      return this.catalog.version(id, version) as StoredVersion;
    } finally {
      await rm(upload.file, { force: true });
    }
  }

  /** 403 when another publisher owns `id`; 409 when the version exists. */
  private assertPublishable(publisher: Publisher, id: string, version: string): void {
    const plugin = this.catalog.plugin(id);
    if (!plugin) return;
    if (plugin.publisher !== publisher.name) {
      throw new KernelError('Forbidden', `plugin ${id} belongs to publisher ${plugin.publisher}, not ${publisher.name}: publish under another id`, {
        field: 'id', code: REGISTRY_ERROR_CODES.notOwner,
      });
    }
    const same = this.catalog.versions(id).find((v) => semver.eq(v.version, version));
    if (same) {
      const detail = same.version === version ? '' : ` (as ${same.version}: versions differing only in build metadata are the same version)`;
      throw new KernelError('Conflict', `${id}@${version} is already published${detail}: versions are immutable; publish a new version`, {
        field: 'version', code: REGISTRY_ERROR_CODES.versionExists,
      });
    }
  }

  private assertPublisherKey(publisher: Publisher, sig: PackageSignature): void {
    if (sig.keyId !== publisher.keyId) {
      throw badRequest(SIGNATURE_KEY_ID_HEADER,
        `the package is signed with key ${sig.keyId}, but publisher ${publisher.name} is registered with key ${publisher.keyId}: sign it with that key (kern plugin sign FILE --key publisher.key)`,
        { code: PACKAGE_ERROR_CODES.signature });
    }
  }

  private assertSignature(publisher: Publisher, sig: PackageSignature, digest: string): void {
    if (!verifySignature(publisher.publicKey, digest, sig.signature)) {
      throw badRequest(SIGNATURE_HEADER,
        `the signature does not verify against the package digest with ${publisher.name}'s key ${publisher.keyId}: the package or its signature was altered; sign the package again`,
        { code: PACKAGE_ERROR_CODES.signature });
    }
  }

  /** Extracts into scratch space: digest and safe paths (extractPackage), then the manifest. */
  private async inspect(upload: ReceivedPackage): Promise<{ pkg: PackageManifest; manifest: PluginManifest }> {
    const scratch = await this.blobs.scratchDir();
    const dir = join(scratch, 'package');
    try {
      const pkg = await extractPackage(upload.file, dir, { maxBytes: this.maxBytes });
      const manifest = validateManifest(await readPackageJson(dir), 'package.json');
      return { pkg, manifest };
    } catch (e) {
      throw refusedPackage(e, upload.file);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

async function readPackageJson(dir: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, 'package.json'), 'utf8');
  } catch {
    throw badRequest('package.json', 'package: package.json is missing; a plugin package holds its package.json (kern plugin pack adds it)');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest('package.json', `package: package.json is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * What the package-format code refused, as a 400 that does not show the
 * server's temporary paths. Errors that are not about the package stay as
 * they are.
 */
function refusedPackage(e: unknown, file: string): unknown {
  if (!isKernelError(e) || e.kind === 'Internal' || e.kind === 'Unavailable') return e;
  const message = e.message.split(file).join('package');
  return new KernelError('Invalid', message, { field: e.field, code: e.code, cause: e });
}

/**
 * kern-package.json's own id and version are not covered by the digest
 * (package.json is): they must agree with package.json.
 */
function assertSameIdentity(pkg: PackageManifest, manifest: PluginManifest): void {
  for (const field of ['id', 'name', 'version', 'kernelAbi'] as const) {
    if (pkg[field] !== manifest[field]) {
      throw badRequest(`kern-package.json.${field}`,
        `package: kern-package.json says ${field} ${JSON.stringify(pkg[field])} but package.json says ${JSON.stringify(manifest[field])}: repack the plugin with kern plugin pack`,
        { code: REGISTRY_ERROR_CODES.mismatch });
    }
  }
}

function assertMatchesUrl(manifest: PluginManifest, id: string, version: string): void {
  if (manifest.id !== id) {
    throw badRequest('kern.id',
      `the package is plugin ${JSON.stringify(manifest.id)} (kern.id in its package.json) but the URL names ${JSON.stringify(id)}: publish it to /v1/plugins/${manifest.id}/${manifest.version}`,
      { code: REGISTRY_ERROR_CODES.mismatch });
  }
  if (manifest.version !== version) {
    throw badRequest('version',
      `the package is version ${JSON.stringify(manifest.version)} (version in its package.json) but the URL names ${JSON.stringify(version)}: publish it to /v1/plugins/${id}/${manifest.version}`,
      { code: REGISTRY_ERROR_CODES.mismatch });
  }
}
