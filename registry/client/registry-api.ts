/**
 * The registry's HTTP contract as the install client names it; the shapes
 * themselves are defined once, in registry/registry-api.ts.
 */
import type { PluginDetail, VersionEntry, VersionSignature } from '../registry-api';

export type { IndexItem, PublisherKey } from '../registry-api';
/** A package signature as the registry lists it: Ed25519 over the digest. */
export type RegistrySignature = VersionSignature;
/** One published version of a plugin. */
export type PluginVersionInfo = VersionEntry;
/** `GET /v1/plugins/:id`: the plugin with every version, newest first. */
export type PluginDocument = PluginDetail;

/** The deprecation message to show, or undefined when not deprecated. */
export function deprecationMessage(deprecated: string | boolean | undefined): string | undefined {
  if (deprecated === undefined || deprecated === false || deprecated === '') return undefined;
  return deprecated === true ? 'deprecated by its publisher' : deprecated;
}
