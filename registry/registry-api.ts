/**
 * The registry's HTTP contract (`kern registry serve`): the JSON shapes the
 * server sends, shared by the server (registry/server) and the install client (registry/client). Errors are
 * Kubernetes-like `Status` bodies (see registry-status.ts).
 */

/** The signature a version was published with: the fields of `<file>.kpkg.sig`. */
export interface VersionSignature {
  keyId: string;
  /** Ed25519 signature of the package digest, base64. */
  signature: string;
}

/** One published version: `GET /v1/plugins/:id` lists them; `PUT` answers with one. */
export interface VersionEntry {
  version: string;
  /** package.json `name`. */
  name: string;
  description: string;
  /** The kernel ABI range the plugin needs (`kern.kernelAbi`). */
  kernelAbi: string;
  /** Plugin id → semver range (`kern.requires`). */
  requires: Record<string, string>;
  provides: { kind: string; name: string }[];
  syscalls: string[];
  /** The package digest (base64 SHA-512, see kern-package.json); what a signature signs. */
  digest: string;
  /** Size of the .kpkg in bytes. */
  size: number;
  signature: VersionSignature | null;
  /** RFC 3339. */
  publishedAt: string;
  yanked: boolean;
  yankReason?: string;
  downloads: number;
}

/** `GET /v1/plugins/:id`: versions sorted by semver, highest first. */
export interface PluginDetail {
  id: string;
  publisher: string;
  deprecated?: string;
  downloads: number;
  versions: VersionEntry[];
}

/** One row of `GET /v1/index`, described by its latest version. */
export interface IndexItem {
  id: string;
  description: string;
  /** `kind/name` of everything the latest version provides, e.g. `runtime/raw-exec`. */
  kinds: string[];
  /** The highest version that is not yanked. */
  latest: string;
  publisher: string;
  /** The key id of the owner's registered public key. */
  keyId: string;
  deprecated?: string;
  downloads: number;
}

/** `GET /v1/index`. */
export interface IndexReply {
  items: IndexItem[];
}

/** One row of `GET /v1/keys`. */
export interface PublisherKey {
  publisher: string;
  keyId: string;
  /** SPKI PEM of the publisher's Ed25519 key. */
  publicKey: string;
}

/** Request headers that carry a package signature on `PUT /v1/plugins/:id/:version`. */
export const SIGNATURE_KEY_ID_HEADER = 'Kern-Signature-Key-Id';
export const SIGNATURE_HEADER = 'Kern-Signature';

/** The default address of `kern registry serve`. */
export const DEFAULT_REGISTRY_HOST = '127.0.0.1';
export const DEFAULT_REGISTRY_PORT = 7080;
export const DEFAULT_REGISTRY_URL = `http://${DEFAULT_REGISTRY_HOST}:${DEFAULT_REGISTRY_PORT}`;

/** Largest .kpkg a publish accepts: 100 MiB (also the cap on its unpacked size). */
export const MAX_PACKAGE_BYTES = 100 * 1024 * 1024;
