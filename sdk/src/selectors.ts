import { errors } from './errors';
import type { WatchEventType } from './store/store-driver';

/** One parsed requirement of a label selector. */
export type LabelRequirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type LabelSelector = LabelRequirement[];

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

/**
 * Parses the Kubernetes label-selector text form: `a=b`, `a==b`, `c!=d`,
 * `e in (x,y)`, `e notin (x)`, `f` (exists) and `!f` (does not exist), joined
 * by commas. Throws Invalid naming `field` on a syntax error.
 */
export function parseLabelSelector(text: string | undefined, field = 'labelSelector'): LabelSelector {
  if (!text || !text.trim()) return [];
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  parts.push(cur);
  return parts.map((raw) => parseRequirement(raw.trim(), field));
}

function parseRequirement(s: string, field: string): LabelRequirement {
  const bad = (why: string) => errors.invalid(field, `${why} in "${s}" (use a=b, a!=b, a in (x,y), a notin (x), a or !a)`);
  if (!s) throw bad('empty requirement');
  let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(s);
  if (m) {
    const values = m[3].split(',').map((v) => v.trim()).filter((v) => v !== '');
    checkKey(m[1], bad);
    values.forEach((v) => checkValue(v, bad));
    return { key: m[1], op: m[2] as 'in' | 'notin', values };
  }
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(s);
  if (m) {
    checkKey(m[1], bad);
    checkValue(m[3], bad);
    return { key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] };
  }
  m = /^!\s*(\S+)$/.exec(s);
  if (m) { checkKey(m[1], bad); return { key: m[1], op: 'notexists' }; }
  checkKey(s, bad);
  return { key: s, op: 'exists' };
}

function checkKey(k: string, bad: (why: string) => Error): void {
  if (!KEY.test(k)) throw bad(`bad label key "${k}"`);
}
function checkValue(v: string, bad: (why: string) => Error): void {
  if (v.length > 63 || !VALUE.test(v)) throw bad(`bad label value "${v}"`);
}

/** True when `labels` satisfy every requirement. */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of selector) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq': if (!has || l[r.key] !== r.value) return false; break;
      case 'neq': if (has && l[r.key] === r.value) return false; break;
      case 'in': if (!has || !r.values.includes(l[r.key])) return false; break;
      case 'notin': if (has && r.values.includes(l[r.key])) return false; break;
      case 'exists': if (!has) return false; break;
      case 'notexists': if (has) return false; break;
    }
  }
  return true;
}

/**
 * The event a watch selecting on labels gets for a change, or undefined
 * for none. As in Kubernetes, an update that moves the object into the
 * selection is its ADDED and one that moves it out its DELETED, and a delete
 * is seen when the object matched before or after its last change.
 * `previousLabels`: the labels before the change, undefined when unknown or
 * unchanged (then `labels` alone decide).
 */
export function selectedEventType(
  selector: LabelSelector, type: WatchEventType, labels: Record<string, string> | undefined, previousLabels?: Record<string, string>,
): WatchEventType | undefined {
  const matches = matchesLabels(selector, labels);
  const matched = previousLabels === undefined ? matches : matchesLabels(selector, previousLabels);
  if (!matches && !matched) return undefined;
  if (type !== 'MODIFIED' || matches === matched) return type;
  return matches ? 'ADDED' : 'DELETED';
}

/** True when two label maps hold the same pairs. */
export function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a![k] === b![k]);
}

/** The structured form used in manifests (`matchLabels` + `matchExpressions`). */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export function selectorFromSpec(spec: LabelSelectorSpec | undefined): LabelSelector {
  const out: LabelSelector = [];
  for (const [key, value] of Object.entries(spec?.matchLabels ?? {})) out.push({ key, op: 'eq', value });
  for (const e of spec?.matchExpressions ?? []) {
    if (e.operator === 'In') out.push({ key: e.key, op: 'in', values: e.values ?? [] });
    else if (e.operator === 'NotIn') out.push({ key: e.key, op: 'notin', values: e.values ?? [] });
    else if (e.operator === 'Exists') out.push({ key: e.key, op: 'exists' });
    else out.push({ key: e.key, op: 'notexists' });
  }
  return out;
}

export function formatLabelSelector(selector: LabelSelector): string {
  return selector.map((r) => {
    switch (r.op) {
      case 'eq': return `${r.key}=${r.value}`;
      case 'neq': return `${r.key}!=${r.value}`;
      case 'in': return `${r.key} in (${r.values.join(',')})`;
      case 'notin': return `${r.key} notin (${r.values.join(',')})`;
      case 'exists': return r.key;
      case 'notexists': return `!${r.key}`;
    }
  }).join(',');
}
