import { Container, ContainerStatus, KernObject, Node, Pod, Probe, Toleration, formatTaint } from '@kern/sdk';
import { age } from './human-duration';
import { nodeRoles, podStatus } from './resource-columns';

const NONE = '<none>';

/**
 * Lines of `kern describe`, laid out like kubectl's tabwriter: a line is a
 * list of cells; consecutive lines with two or more cells are aligned
 * column by column; a one-cell line (a heading) starts a new block.
 */
export class DescribeWriter {
  private readonly lines: string[][] = [];

  /** `Label:  value`; multi-line values continue under the value column. */
  field(indent: number, label: string, value: string | number | boolean | undefined | null): this {
    const text = value === undefined || value === null || value === '' ? NONE : String(value);
    const [first, ...rest] = text.split('\n');
    this.lines.push([`${pad(indent)}${label}:`, first]);
    rest.forEach((r) => this.lines.push(['', r]));
    return this;
  }

  heading(indent: number, label: string): this {
    this.lines.push([`${pad(indent)}${label}:`]);
    return this;
  }

  text(indent: number, text: string): this {
    this.lines.push([`${pad(indent)}${text}`]);
    return this;
  }

  /** `Labels:  a=b` then one `c=d` per line; `<none>` when empty. */
  map(indent: number, label: string, record: Record<string, unknown> | undefined, sep = '='): this {
    const entries = Object.entries(record ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (entries.length === 0) return this.field(indent, label, NONE);
    return this.field(indent, label, entries.map(([k, v]) => `${k}${sep}${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n'));
  }

  /** A table under a heading; prints `<none>` on the heading when there are no rows. */
  table(indent: number, label: string, header: string[], rows: string[][], options: { rule?: boolean } = {}): this {
    if (rows.length === 0) return this.field(indent, label, NONE);
    this.heading(indent, label);
    const lead = pad(indent + 2);
    this.lines.push(header.map((h, i) => (i === 0 ? lead + h : h)));
    if (options.rule) this.lines.push(header.map((h, i) => (i === 0 ? lead : '') + '-'.repeat(h.length)));
    rows.forEach((r) => this.lines.push(r.map((c, i) => (i === 0 ? lead + c : c))));
    return this;
  }

  render(): string {
    const out: string[] = [];
    let block: string[][] = [];
    const flush = () => {
      const widths: number[] = [];
      block.forEach((cells) => cells.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); }));
      block.forEach((cells) => out.push(cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 2))).join('').trimEnd()));
      block = [];
    };
    for (const cells of this.lines) {
      if (cells.length < 2) {
        flush();
        out.push(cells[0]);
      } else {
        block.push(cells);
      }
    }
    flush();
    return out.join('\n') + '\n';
  }
}

function pad(n: number): string {
  return ' '.repeat(n);
}

/** `holderIdentity` → `Holder Identity`, as kubectl's generic describer titles keys. */
export function titleCase(key: string): string {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isConditionList(v: unknown): v is { type: string; status: string; reason?: string; message?: string }[] {
  return Array.isArray(v) && v.length > 0 && v.every((c) => isPlainObject(c) && typeof c.type === 'string' && typeof c.status === 'string');
}

/** Any JSON value as nested `Key:  value` lines. */
export function writeValue(w: DescribeWriter, indent: number, label: string, value: unknown): void {
  if (value === null || value === undefined || (typeof value !== 'object')) {
    w.field(indent, label, value as string);
  } else if (Array.isArray(value)) {
    if (value.length === 0) w.field(indent, label, NONE);
    else if (value.every((v) => !isPlainObject(v) && !Array.isArray(v))) w.field(indent, label, value.map(String).join(', '));
    else if (isConditionList(value)) {
      w.table(indent, label, ['Type', 'Status', 'Reason', 'Message'], value.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']));
    } else {
      w.heading(indent, label);
      value.forEach((item, i) => {
        const name = isPlainObject(item) && typeof item.name === 'string' ? item.name : `#${i + 1}`;
        writeValue(w, indent + 2, name, item);
      });
    }
  } else {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) {
      w.field(indent, label, NONE);
      return;
    }
    w.heading(indent, label);
    for (const [k, v] of entries) writeValue(w, indent + 2, titleCase(k), v);
  }
}

export interface DescribeContext {
  now: number;
  /** Events about the object, newest last; undefined when they could not be read. */
  events?: KernObject[];
}

type Describer = (w: DescribeWriter, obj: KernObject, ctx: DescribeContext) => void;

function writeMeta(w: DescribeWriter, obj: KernObject): void {
  w.field(0, 'Name', obj.metadata?.name);
  if (obj.metadata?.namespace) w.field(0, 'Namespace', obj.metadata.namespace);
  w.map(0, 'Labels', obj.metadata?.labels);
  w.map(0, 'Annotations', obj.metadata?.annotations, ': ');
}

function when(ts: string | undefined, now: number): string | undefined {
  return ts ? `${ts} (${age(ts, now)} ago)` : undefined;
}

function probeText(p: Probe): string {
  const how = p.httpGet
    ? `http-get ${p.httpGet.scheme === 'HTTPS' ? 'https' : 'http'}://${p.httpGet.host ?? ''}:${p.httpGet.port}${p.httpGet.path ?? '/'}`
    : p.tcpSocket
      ? `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port}`
      : p.exec
        ? `exec [${p.exec.command.join(' ')}]`
        : 'unknown';
  return `${how} delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
}

function writeState(w: DescribeWriter, indent: number, label: string, state: ContainerStatus['state'] | undefined, now: number): void {
  if (!state) return;
  if (state.running) {
    w.field(indent, label, 'Running');
    w.field(indent + 2, 'Started', when(state.running.startedAt, now));
  } else if (state.terminated) {
    const t = state.terminated;
    w.field(indent, label, 'Terminated');
    if (t.reason) w.field(indent + 2, 'Reason', t.reason);
    if (t.message) w.field(indent + 2, 'Message', t.message);
    w.field(indent + 2, 'Exit Code', t.exitCode);
    if (t.startedAt) w.field(indent + 2, 'Started', t.startedAt);
    if (t.finishedAt) w.field(indent + 2, 'Finished', t.finishedAt);
  } else if (state.waiting) {
    w.field(indent, label, 'Waiting');
    if (state.waiting.reason) w.field(indent + 2, 'Reason', state.waiting.reason);
    if (state.waiting.message) w.field(indent + 2, 'Message', state.waiting.message);
  }
}

function writeContainers(w: DescribeWriter, label: string, containers: Container[] | undefined, statuses: ContainerStatus[] | undefined, now: number): void {
  if (!containers?.length) return;
  w.heading(0, label);
  for (const c of containers) {
    const s = statuses?.find((x) => x.name === c.name);
    w.heading(2, c.name);
    if (s?.containerID) w.field(4, 'Container ID', s.containerID);
    w.field(4, 'Image', c.image);
    if (c.command?.length) w.field(4, 'Command', c.command.join('\n'));
    if (c.args?.length) w.field(4, 'Args', c.args.join('\n'));
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}${p.name ? ` (${p.name})` : ''}`);
    w.field(4, ports.length > 1 ? 'Ports' : 'Port', ports.join(', ') || NONE);
    writeState(w, 4, 'State', s?.state, now);
    writeState(w, 4, 'Last State', s?.lastState, now);
    w.field(4, 'Ready', s?.ready ? 'True' : 'False');
    w.field(4, 'Restart Count', s?.restartCount ?? 0);
    if (c.resources?.limits) w.map(4, 'Limits', c.resources.limits, ':  ');
    if (c.resources?.requests) w.map(4, 'Requests', c.resources.requests, ':  ');
    if (c.livenessProbe) w.field(4, 'Liveness', probeText(c.livenessProbe));
    if (c.readinessProbe) w.field(4, 'Readiness', probeText(c.readinessProbe));
    if (c.startupProbe) w.field(4, 'Startup', probeText(c.startupProbe));
    if (c.env?.length) {
      w.heading(4, 'Environment');
      c.env.forEach((e) => w.field(6, e.name, e.value ?? ''));
    } else {
      w.field(4, 'Environment', NONE);
    }
    if (c.volumeMounts?.length) {
      w.heading(4, 'Mounts');
      c.volumeMounts.forEach((m) => w.text(6, `${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'})`));
    } else {
      w.field(4, 'Mounts', NONE);
    }
  }
}

function writeEvents(w: DescribeWriter, ctx: DescribeContext): void {
  if (!ctx.events) return;
  const rows = ctx.events.map((e) => {
    const ev = e as KernObject & { type?: string; reason?: string; message?: string; source?: { component?: string }; reportingController?: string; lastTimestamp?: string; eventTime?: string };
    const ts = ev.lastTimestamp ?? ev.eventTime ?? ev.metadata?.creationTimestamp;
    return [ev.type ?? '', ev.reason ?? '', age(ts, ctx.now), ev.source?.component ?? ev.reportingController ?? '', (ev.message ?? '').trim()];
  });
  w.table(0, 'Events', ['Type', 'Reason', 'Age', 'From', 'Message'], rows, { rule: true });
}

const describePod: Describer = (w, obj, ctx) => {
  const pod = obj as Pod;
  w.field(0, 'Name', pod.metadata.name);
  w.field(0, 'Namespace', pod.metadata.namespace);
  if (pod.spec?.priority !== undefined) w.field(0, 'Priority', pod.spec.priority);
  w.field(0, 'Node', pod.spec?.nodeName ? `${pod.spec.nodeName}${pod.status?.hostIP ? `/${pod.status.hostIP}` : ''}` : NONE);
  w.field(0, 'Start Time', pod.status?.startTime);
  w.map(0, 'Labels', pod.metadata.labels);
  w.map(0, 'Annotations', pod.metadata.annotations, ': ');
  w.field(0, 'Status', podStatus(pod));
  if (pod.status?.reason) w.field(0, 'Reason', pod.status.reason);
  if (pod.status?.message) w.field(0, 'Message', pod.status.message);
  w.field(0, 'IP', pod.status?.podIP);
  writeContainers(w, 'Init Containers', pod.spec?.initContainers, pod.status?.initContainerStatuses, ctx.now);
  writeContainers(w, 'Containers', pod.spec?.containers, pod.status?.containerStatuses, ctx.now);
  w.table(0, 'Conditions', ['Type', 'Status'], (pod.status?.conditions ?? []).map((c) => [c.type, c.status]));
  if (pod.spec?.volumes?.length) {
    w.heading(0, 'Volumes');
    for (const v of pod.spec.volumes) {
      const { name, ...source } = v;
      const [type, settings] = Object.entries(source)[0] ?? ['unknown', {}];
      w.heading(2, name);
      w.field(4, 'Type', type);
      for (const [k, val] of Object.entries(isPlainObject(settings) ? settings : {})) w.field(4, titleCase(k), typeof val === 'object' ? JSON.stringify(val) : String(val));
    }
  } else {
    w.field(0, 'Volumes', NONE);
  }
  w.map(0, 'Node-Selectors', pod.spec?.nodeSelector);
  w.field(0, 'Tolerations', (pod.spec?.tolerations ?? []).map(tolerationText).join('\n') || NONE);
  writeEvents(w, ctx);
};

/** As kubectl describe: `key=value:Effect`, then ` op=Exists` and ` for 300s` when they apply. */
function tolerationText(t: Toleration): string {
  const seconds = t.tolerationSeconds !== undefined ? ` for ${t.tolerationSeconds}s` : '';
  return `${t.key ?? ''}${t.value ? `=${t.value}` : ''}${t.effect ? `:${t.effect}` : ''}${t.operator === 'Exists' ? ' op=Exists' : ''}${seconds}`;
}

const describeNode: Describer = (w, obj, ctx) => {
  const node = obj as Node;
  w.field(0, 'Name', node.metadata.name);
  w.field(0, 'Roles', nodeRoles(node));
  w.map(0, 'Labels', node.metadata.labels);
  w.map(0, 'Annotations', node.metadata.annotations, ': ');
  w.field(0, 'CreationTimestamp', node.metadata.creationTimestamp);
  w.field(0, 'Taints', (node.spec?.taints ?? []).map(formatTaint).join('\n') || NONE);
  w.field(0, 'Unschedulable', node.spec?.unschedulable ? 'true' : 'false');
  w.table(0, 'Conditions', ['Type', 'Status', 'LastHeartbeatTime', 'Reason', 'Message'],
    (node.status?.conditions ?? []).map((c) => [c.type, c.status, c.lastHeartbeatTime ?? '', c.reason ?? '', c.message ?? '']), { rule: true });
  const addresses = node.status?.addresses ?? [];
  if (addresses.length) {
    w.heading(0, 'Addresses');
    addresses.forEach((a) => w.field(2, a.type, a.address));
  } else {
    w.field(0, 'Addresses', NONE);
  }
  for (const [label, q] of [['Capacity', node.status?.capacity], ['Allocatable', node.status?.allocatable]] as const) {
    if (q && Object.keys(q).length) {
      w.heading(0, label);
      Object.entries(q).forEach(([k, v]) => w.field(2, k, v));
    }
  }
  const info = node.status?.nodeInfo;
  if (info) {
    w.heading(0, 'System Info');
    Object.entries(info).forEach(([k, v]) => w.field(2, titleCase(k), v));
  }
  if (node.spec?.podCIDR) w.field(0, 'PodCIDR', node.spec.podCIDR);
  writeEvents(w, ctx);
};

const describeNamespace: Describer = (w, obj) => {
  w.field(0, 'Name', obj.metadata.name);
  w.map(0, 'Labels', obj.metadata.labels);
  w.map(0, 'Annotations', obj.metadata.annotations, ': ');
  w.field(0, 'Status', obj.metadata.deletionTimestamp ? 'Terminating' : (obj.status as { phase?: string })?.phase || 'Active');
};

const describeGeneric: Describer = (w, obj, ctx) => {
  writeMeta(w, obj);
  w.field(0, 'API Version', obj.apiVersion);
  w.field(0, 'Kind', obj.kind);
  const md = obj.metadata ?? {};
  w.heading(0, 'Metadata');
  w.field(2, 'Creation Timestamp', md.creationTimestamp);
  if (md.deletionTimestamp) w.field(2, 'Deletion Timestamp', md.deletionTimestamp);
  if (md.generation !== undefined) w.field(2, 'Generation', md.generation);
  w.field(2, 'Resource Version', md.resourceVersion);
  w.field(2, 'UID', md.uid);
  if (md.finalizers?.length) w.field(2, 'Finalizers', md.finalizers.join(', '));
  if (md.ownerReferences?.length) writeValue(w, 2, 'Owner References', md.ownerReferences);
  for (const [k, v] of Object.entries(obj)) {
    if (['apiVersion', 'kind', 'metadata'].includes(k)) continue;
    writeValue(w, 0, titleCase(k), v);
  }
  writeEvents(w, ctx);
};

/** Describers per kind; other kinds get the generic one. A new kind adds a row here. */
export const DESCRIBERS: Readonly<Record<string, Describer>> = {
  Pod: describePod,
  Node: describeNode,
  Namespace: describeNamespace,
};

export function describeObject(obj: KernObject, ctx: DescribeContext): string {
  const w = new DescribeWriter();
  (DESCRIBERS[obj.kind] ?? describeGeneric)(w, obj, ctx);
  return w.render();
}

/** The events whose involvedObject (or `regarding`) is `obj`, oldest first. */
export function eventsFor(obj: KernObject, events: readonly KernObject[]): KernObject[] {
  type Ref = { kind?: string; name?: string; namespace?: string; uid?: string };
  return events
    .filter((e) => {
      const ref = ((e as { involvedObject?: Ref }).involvedObject ?? (e as { regarding?: Ref }).regarding) as Ref | undefined;
      if (!ref) return false;
      if (ref.uid && obj.metadata.uid) return ref.uid === obj.metadata.uid;
      return ref.kind === obj.kind && ref.name === obj.metadata.name && (ref.namespace ?? '') === (obj.metadata.namespace ?? '');
    })
    .sort((a, b) => {
      const t = (e: KernObject) => (e as { lastTimestamp?: string }).lastTimestamp ?? e.metadata?.creationTimestamp ?? '';
      return t(a).localeCompare(t(b));
    });
}
