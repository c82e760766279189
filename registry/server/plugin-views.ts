import * as semver from 'semver';
import { IndexItem, PluginDetail, VersionEntry } from '../registry-api';
import { StoredPlugin, StoredVersion } from './plugin-catalog';

/** What the API shows of stored plugins and versions. */

export function versionEntry(v: StoredVersion): VersionEntry {
  return {
    version: v.version,
    name: v.manifest.name,
    description: v.manifest.description,
    kernelAbi: v.manifest.kernelAbi,
    requires: v.manifest.requires,
    provides: v.manifest.provides,
    syscalls: v.manifest.syscalls,
    digest: v.digest,
    size: v.size,
    signature: v.signature,
    publishedAt: v.publishedAt,
    yanked: v.yanked,
    ...(v.yankReason ? { yankReason: v.yankReason } : {}),
    downloads: v.downloads,
  };
}

/** Highest semver first. */
export function bySemverDescending<T extends { version: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => semver.rcompare(a.version, b.version));
}

export function pluginDetail(plugin: StoredPlugin, versions: readonly StoredVersion[]): PluginDetail {
  return {
    id: plugin.id,
    publisher: plugin.publisher,
    ...(plugin.deprecated ? { deprecated: plugin.deprecated } : {}),
    downloads: plugin.downloads,
    versions: bySemverDescending(versions).map(versionEntry),
  };
}

/** The highest version not yanked, or undefined when every version is. */
export function latestVersion(versions: readonly StoredVersion[]): StoredVersion | undefined {
  return bySemverDescending(versions.filter((v) => !v.yanked))[0];
}

export interface IndexQuery {
  /** Case-insensitive text found in the id, the package name or the description. */
  q?: string;
  /** The kind part of what a plugin provides (`runtime` in `runtime/raw-exec`), case-insensitive. */
  kind?: string;
}

/**
 * `GET /v1/index`: one item per plugin, described by its latest version and
 * filtered by `q` and `kind`, sorted by id. A plugin whose every version is
 * yanked has nothing to install and is left out (`GET /v1/plugins/:id`
 * still shows it).
 */
export function indexItems(
  plugins: readonly StoredPlugin[],
  versionsOf: (id: string) => readonly StoredVersion[],
  keyIdOf: (publisher: string) => string,
  query: IndexQuery = {},
): IndexItem[] {
  const text = query.q?.trim().toLowerCase() || undefined;
  const kind = query.kind?.trim().toLowerCase() || undefined;
  const items: IndexItem[] = [];
  for (const plugin of plugins) {
    const latest = latestVersion(versionsOf(plugin.id));
    if (!latest) continue;
    const m = latest.manifest;
    if (text && ![plugin.id, m.name, m.description].some((s) => s.toLowerCase().includes(text))) continue;
    if (kind && !m.provides.some((p) => p.kind.toLowerCase() === kind)) continue;
    items.push({
      id: plugin.id,
      description: m.description,
      kinds: m.provides.map((p) => `${p.kind}/${p.name}`),
      latest: latest.version,
      publisher: plugin.publisher,
      keyId: keyIdOf(plugin.publisher),
      ...(plugin.deprecated ? { deprecated: plugin.deprecated } : {}),
      downloads: plugin.downloads,
    });
  }
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
