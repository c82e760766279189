import type Database from 'better-sqlite3';
import { VersionSignature } from '../registry-api';

/** What a version's package.json says about it, kept as published. */
export interface VersionManifest {
  name: string;
  description: string;
  kernelAbi: string;
  requires: Record<string, string>;
  provides: { kind: string; name: string }[];
  syscalls: string[];
}

export interface StoredVersion {
  pluginId: string;
  version: string;
  manifest: VersionManifest;
  digest: string;
  size: number;
  signature: VersionSignature | null;
  publishedAt: string;
  yanked: boolean;
  yankReason?: string;
  downloads: number;
}

export interface StoredPlugin {
  id: string;
  /** The owner: the publisher who published its first version. */
  publisher: string;
  deprecated?: string;
  downloads: number;
  createdAt: string;
}

interface PluginRow {
  id: string;
  publisher: string;
  deprecated: string | null;
  downloads: number;
  created_at: string;
}

interface VersionRow {
  plugin_id: string;
  version: string;
  manifest: string;
  digest: string;
  size: number;
  signature_key_id: string | null;
  signature: string | null;
  published_at: string;
  yanked: number;
  yank_reason: string | null;
  downloads: number;
}

const VERSION_COLUMNS = 'plugin_id, version, manifest, digest, size, signature_key_id, signature, published_at, yanked, yank_reason, downloads';

function toPlugin(row: PluginRow): StoredPlugin {
  return {
    id: row.id,
    publisher: row.publisher,
    ...(row.deprecated ? { deprecated: row.deprecated } : {}),
    downloads: row.downloads,
    createdAt: row.created_at,
  };
}

function toVersion(row: VersionRow): StoredVersion {
  return {
    pluginId: row.plugin_id,
    version: row.version,
    manifest: JSON.parse(row.manifest) as VersionManifest,
    digest: row.digest,
    size: row.size,
    signature: row.signature_key_id && row.signature ? { keyId: row.signature_key_id, signature: row.signature } : null,
    publishedAt: row.published_at,
    yanked: row.yanked !== 0,
    ...(row.yank_reason ? { yankReason: row.yank_reason } : {}),
    downloads: row.downloads,
  };
}

/**
 * Plugins and their versions in the registry database: plain reads and
 * writes. The rules (who may publish what) live with the callers.
 */
export class PluginCatalog {
  constructor(private readonly db: Database.Database) {}

  /** Runs `fn` in one write transaction, taken at once so checks and writes see the same state. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  plugin(id: string): StoredPlugin | undefined {
    const row = this.db.prepare('SELECT id, publisher, deprecated, downloads, created_at FROM plugins WHERE id = ?').get(id) as PluginRow | undefined;
    return row && toPlugin(row);
  }

  plugins(): StoredPlugin[] {
    const rows = this.db.prepare('SELECT id, publisher, deprecated, downloads, created_at FROM plugins ORDER BY id').all() as PluginRow[];
    return rows.map(toPlugin);
  }

  /** The versions of one plugin, in no particular order. */
  versions(id: string): StoredVersion[] {
    const rows = this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM versions WHERE plugin_id = ?`).all(id) as VersionRow[];
    return rows.map(toVersion);
  }

  /** Every version, grouped by plugin id (the index reads them all at once). */
  versionsByPlugin(): Map<string, StoredVersion[]> {
    const out = new Map<string, StoredVersion[]>();
    for (const row of this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM versions`).all() as VersionRow[]) {
      const v = toVersion(row);
      const list = out.get(v.pluginId);
      if (list) list.push(v);
      else out.set(v.pluginId, [v]);
    }
    return out;
  }

  version(id: string, version: string): StoredVersion | undefined {
    const row = this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM versions WHERE plugin_id = ? AND version = ?`).get(id, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  /** Adds a version, and the plugin owned by `publisher` when it is the first. */
  insertVersion(publisher: string, v: Omit<StoredVersion, 'yanked' | 'yankReason' | 'downloads'>): void {
    this.db.prepare('INSERT OR IGNORE INTO plugins (id, publisher, created_at) VALUES (?, ?, ?)').run(v.pluginId, publisher, v.publishedAt);
    this.db.prepare(`INSERT INTO versions (plugin_id, version, manifest, digest, size, signature_key_id, signature, published_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
      v.pluginId, v.version, JSON.stringify(v.manifest), v.digest, v.size,
      v.signature?.keyId ?? null, v.signature?.signature ?? null, v.publishedAt,
    );
  }

  setYanked(id: string, version: string, yanked: boolean, reason?: string): void {
    this.db.prepare('UPDATE versions SET yanked = ?, yank_reason = ? WHERE plugin_id = ? AND version = ?')
      .run(yanked ? 1 : 0, yanked && reason ? reason : null, id, version);
  }

  /** Sets the deprecation message; an empty one clears it. */
  setDeprecated(id: string, message: string): void {
    this.db.prepare('UPDATE plugins SET deprecated = ? WHERE id = ?').run(message === '' ? null : message, id);
  }

  /** One download of `id@version`: counted on the version and on the plugin. */
  countDownload(id: string, version: string): void {
    this.transaction(() => {
      this.db.prepare('UPDATE versions SET downloads = downloads + 1 WHERE plugin_id = ? AND version = ?').run(id, version);
      this.db.prepare('UPDATE plugins SET downloads = downloads + 1 WHERE id = ?').run(id);
    });
  }
}
