import { KernObject, KindInfo } from '@kern/sdk';
import { stringify as toYaml } from 'yaml';
import { usageError } from './cli-error';
import { objectRef } from './kind-resolver';

/** `-o` values; `table` is the default when -o is not given. */
export const OUTPUT_FORMATS = ['wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = 'table' | (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '') return 'table';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw usageError(`--output "${value}" is not a format: use one of ${OUTPUT_FORMATS.join(', ')}`);
}

/** List items may come without apiVersion/kind (as in Kubernetes); put them back. */
export function withTypeMeta(obj: KernObject, info: KindInfo): KernObject {
  if (obj.apiVersion && obj.kind) return obj;
  const { apiVersion, kind, ...rest } = obj;
  return { apiVersion: apiVersion || info.apiVersion, kind: kind || info.kind, ...rest } as KernObject;
}

/** What kubectl prints for a list in json or yaml: a `List` of the items. */
export function toList(items: readonly KernObject[]): { apiVersion: 'v1'; kind: 'List'; metadata: { resourceVersion: string }; items: KernObject[] } {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [...items] };
}

/** The text for one value in a structured format (json, yaml) or as names. */
export function formatObjects(format: 'json' | 'yaml' | 'name', value: KernObject | KernObject[]): string {
  const single = !Array.isArray(value);
  if (format === 'name') return (single ? [value] : value).map((o) => objectRef(o)).join('\n') + ((single ? 1 : value.length) ? '\n' : '');
  const body = single ? value : toList(value);
  return format === 'json' ? JSON.stringify(body, null, 2) + '\n' : toYaml(body);
}
