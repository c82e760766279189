/**
 * What the registry's HTTP API sends, as the install client reads it
 * (`GET /v1/index`, `/v1/plugins/:id`, `/v1/keys`). Errors come as
 * Kubernetes-like `Status` objects.
 */

/** One row of `GET /v1/index`. */
export interface IndexItem {
  id: string;
  description: string;
  kinds: string[];
  latest: string;
  publisher: string;
  keyId: string;
  /** A deprecation message (or just `true`) when the publisher deprecated the plugin. */
  deprecated?: string | boolean;
  downloads: number;
}

/** A package signature as the registry lists it: Ed25519 over the digest. */
export interface RegistrySignature {
  keyId: string;
  signature: string;
}

/** One published version of a plugin. */
export interface PluginVersionInfo {
  version: string;
  name: string;
  description: string;
  kernelAbi: string;
  requires: Record<string, string>;
  provides: { kind: string; name: string }[];
  syscalls: string[];
  /** The package digest (base64 SHA-512, see package-digest.ts). */
  digest: string;
  /** Size of the .kpkg in bytes. */
  size: number;
  signature: RegistrySignature | null;
  publishedAt: string;
  yanked: boolean;
  yankReason?: string;
  downloads: number;
}

/** `GET /v1/plugins/:id`: the plugin with every version, newest first. */
export interface PluginDocument {
  id: string;
  publisher: string;
  deprecated?: string | boolean;
  downloads: number;
  versions: PluginVersionInfo[];
}

/** One row of `GET /v1/keys`. */
export interface PublisherKey {
  publisher: string;
  keyId: string;
  /** SPKI PEM. */
  publicKey: string;
}

/** The deprecation message to show, or undefined when not deprecated. */
export function deprecationMessage(deprecated: string | boolean | undefined): string | undefined {
  if (deprecated === undefined || deprecated === false || deprecated === '') return undefined;
  return deprecated === true ? 'deprecated by its publisher' : deprecated;
}
