import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as semver from 'semver';
import * as tar from 'tar';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { Logger } from '@kern/sdk';

/**
 * A Helm chart repository index (`GET /charts/index.yaml`) for the charts in
 * `<dataDir>/charts/*.tgz`, so `helm repo add kern http://REGISTRY/charts`
 * works. Each entry is the chart's Chart.yaml plus `urls` (relative to the
 * repository, as Helm allows), `created` and the SHA-256 `digest`.
 */

/** A file name that may be served from the charts folder. */
export const CHART_FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*\.tgz$/;

/** Chart.yaml larger than this is not a chart we index. */
const MAX_CHART_YAML_BYTES = 1024 * 1024;

export interface ChartEntry extends Record<string, unknown> {
  name: string;
  version: string;
  urls: string[];
  created: string;
  digest: string;
}

export interface ChartRepositoryIndex {
  apiVersion: 'v1';
  entries: Record<string, ChartEntry[]>;
  generated: string;
}

export async function buildChartIndex(chartsDir: string, logger: Logger, now: Date = new Date()): Promise<ChartRepositoryIndex> {
  const names = await readdir(chartsDir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const entries: Record<string, ChartEntry[]> = {};
  for (const file of names.filter((n) => CHART_FILE_PATTERN.test(n)).sort()) {
    try {
      const entry = await chartEntry(join(chartsDir, file), file);
      (entries[entry.name] ??= []).push(entry);
    } catch (e) {
      // One broken archive must not take the whole repository down.
      logger.warn({ err: e, chart: file }, 'chart left out of index.yaml');
    }
  }
  for (const list of Object.values(entries)) list.sort(byChartVersionDescending);
  return { apiVersion: 'v1', entries, generated: now.toISOString() };
}

export function chartIndexYaml(index: ChartRepositoryIndex): string {
  return toYaml(index);
}

async function chartEntry(path: string, file: string): Promise<ChartEntry> {
  const archive = await readFile(path); // read once: parsed for Chart.yaml and hashed for the digest
  const metadata = parseYaml(await readChartYaml(archive)) as Record<string, unknown> | null;
  if (!metadata || typeof metadata !== 'object' || typeof metadata.name !== 'string' || metadata.version === undefined) {
    throw new Error(`${file}: Chart.yaml has no name or version`);
  }
  const s = await stat(path);
  return {
    ...metadata,
    name: metadata.name,
    version: String(metadata.version),
    urls: [file],
    created: s.mtime.toISOString(),
    digest: createHash('sha256').update(archive).digest('hex'),
  };
}

/** The text of `<chart>/Chart.yaml` inside a chart archive. */
function readChartYaml(archive: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let found = false;
    const parser = new tar.Parser({ strict: true });
    parser.on('entry', (entry: tar.ReadEntry) => {
      if (found || !/^[^/]+\/Chart\.yaml$/.test(entry.path) || (entry.size ?? 0) > MAX_CHART_YAML_BYTES) {
        entry.resume();
        return;
      }
      found = true;
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    parser.on('error', reject);
    parser.on('end', () => { if (!found) reject(new Error('no <chart>/Chart.yaml in the archive')); });
    parser.end(archive);
  });
}

function byChartVersionDescending(a: ChartEntry, b: ChartEntry): number {
  const va = semver.valid(a.version);
  const vb = semver.valid(b.version);
  if (va && vb) return semver.rcompare(va, vb);
  return a.version < b.version ? 1 : a.version > b.version ? -1 : 0;
}
