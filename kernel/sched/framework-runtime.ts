import {
  CycleState, Disposable, NodeInfo, Pod, SchedulerHandle, SchedulerPluginRegistry, SchedulingPlugin, Status, errors, toDisposable,
} from '@kern/sdk';
import { SUCCESS } from './sdk-values';

export class MapCycleState implements CycleState {
  constructor(private readonly data = new Map<string, unknown>()) {}
  read<T>(key: string): T | undefined { return this.data.get(key) as T | undefined; }
  write<T>(key: string, value: T): void { this.data.set(key, value); }
  delete(key: string): void { this.data.delete(key); }
  clone(): CycleState { return new MapCycleState(new Map(this.data)); }
}

/** The filter plugins preFilter left in (not skipped), in order. */
const ACTIVE_FILTERS = '__framework/activeFilters';
/** The plugins whose preFilter ran (not skipped) and that have preFilterExtensions. */
const ACTIVE_EXTENSIONS = '__framework/activeExtensions';

/** Per node, each score plugin's weighted share: what `sched.explain` shows. */
export type ScoreDetail = { total: number; byPlugin: Record<string, number> };

/** Built-in plugins plus the ones other plugins register (the {@link SchedulerPluginRegistry}). */
export class SchedulerPluginSet implements SchedulerPluginRegistry {
  private builtins: SchedulingPlugin[] | undefined;
  private readonly extra: SchedulingPlugin[] = [];
  /** all(), kept until the set changes: it is read for every node of every attempt. */
  private combined: readonly SchedulingPlugin[] | undefined;

  /** Installs the built-in plugins once (the first scheduler using this set does). */
  ensureBuiltins(make: () => SchedulingPlugin[]): void {
    if (this.builtins) return;
    this.builtins = make();
    this.combined = undefined;
  }

  register(plugin: SchedulingPlugin): Disposable {
    if (!plugin?.name) throw errors.invalid('plugin.name', 'is required');
    if (this.all().some((p) => p.name === plugin.name)) throw errors.alreadyExists(`scheduling plugin ${plugin.name}`);
    this.extra.push(plugin);
    this.combined = undefined;
    return toDisposable(() => {
      const i = this.extra.indexOf(plugin);
      if (i >= 0) this.extra.splice(i, 1);
      this.combined = undefined;
    });
  }

  names(): string[] {
    return this.all().map((p) => p.name);
  }

  all(): readonly SchedulingPlugin[] {
    this.combined ??= [...(this.builtins ?? []), ...this.extra];
    return this.combined;
  }
}

/** A plugin's answer as the framework reports it: a rejection or error names the plugin. */
function verdict(plugin: string, s: Status | undefined): Status {
  if (!s) return SUCCESS;
  return s.code === 'Success' || s.code === 'Skip' ? s : named(s, plugin);
}

/**
 * `s` as reported by `plugin`. A literal of fixed shape, not a spread: a
 * spread of a plugin's object takes V8's slow path, and filters report one
 * per node that does not fit.
 */
function named(s: Status, plugin: string): Status {
  return { code: s.code, reasons: s.reasons, plugin };
}

/** What a plugin that threw stands for. */
function pluginError(plugin: string, e: unknown): Status {
  return { code: 'Error', reasons: [`${plugin}: ${(e as Error).message}`], plugin };
}

function guard(plugin: string, fn: () => Status): Status {
  try {
    return verdict(plugin, fn());
  } catch (e) {
    return pluginError(plugin, e);
  }
}

/** Runs the extension points of one attempt over the plugin set. */
export class FrameworkRuntime {
  constructor(private readonly plugins: SchedulerPluginSet) {}

  /** PreFilter of every plugin; the first rejection or error ends it. */
  preFilter(state: CycleState, pod: Pod, handle: SchedulerHandle): Status {
    const skipped = new Set<string>();
    for (const p of this.plugins.all()) {
      if (!p.preFilter) continue;
      const s = guard(p.name, () => p.preFilter!(state, pod, handle));
      if (s.code === 'Skip') { skipped.add(p.name); continue; }
      if (s.code !== 'Success') return s;
    }
    // Resolved once here: filter() runs for every node of the attempt.
    state.write(ACTIVE_FILTERS, this.plugins.all().filter((p) => p.filter && !skipped.has(p.name)));
    state.write(ACTIVE_EXTENSIONS, this.plugins.all().filter((p) => p.preFilter && p.preFilterExtensions && !skipped.has(p.name)));
    return Status.success();
  }

  /**
   * Counts `other` as placed on (`add`) or gone from (`remove`) `nodeInfo`
   * in what the preFilters that did not skip computed, through their
   * preFilterExtensions. `state` must be the caller's clone: extensions
   * replace its values. The first failure is returned.
   */
  updateForPod(change: 'add' | 'remove', state: CycleState, pod: Pod, other: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): Status {
    const active = state.read<readonly SchedulingPlugin[]>(ACTIVE_EXTENSIONS) ?? this.plugins.all();
    for (const p of active) {
      const ext = p.preFilterExtensions;
      if (!ext) continue;
      const s = guard(p.name, () => (change === 'add' ? ext.addPod(state, pod, other, nodeInfo, handle) : ext.removePod(state, pod, other, nodeInfo, handle)));
      if (s.code !== 'Success' && s.code !== 'Skip') return s;
    }
    return Status.success();
  }

  /** The filter plugins an attempt runs: those whose preFilter did not skip (all before preFilter ran). */
  activeFilters(state: CycleState): readonly SchedulingPlugin[] {
    return state.read<readonly SchedulingPlugin[]>(ACTIVE_FILTERS) ?? this.plugins.all();
  }

  /**
   * Filters in order; the first non-success is the node's verdict. `active`
   * is {@link activeFilters}, passed in by callers that filter many nodes.
   */
  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle, active = this.activeFilters(state)): Status {
    // No guard() closure: this runs for every plugin × node × pod.
    for (let i = 0; i < active.length; i++) {
      const p = active[i];
      if (!p.filter) continue;
      let s: Status | undefined;
      try {
        s = p.filter(state, pod, nodeInfo, handle);
      } catch (e) {
        return pluginError(p.name, e);
      }
      if (s && s.code !== 'Success' && s.code !== 'Skip') return named(s, p.name);
    }
    return SUCCESS;
  }

  /**
   * Each node's weighted score summed over the score plugins, in `nodes`
   * order; `detail`, when given, receives every plugin's weighted share per
   * node (for `sched.explain`; the scheduling cycle needs only totals).
   */
  totals(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], handle: SchedulerHandle, detail?: Record<string, number>[]): Float64Array {
    const totals = new Float64Array(nodes.length);
    if (nodes.length <= 1) return totals;
    const skipped = new Set<string>();
    for (const p of this.plugins.all()) {
      if (!p.score) continue;
      if (p.preScore && guard(p.name, () => p.preScore!(state, pod, nodes, handle)).code !== 'Success') skipped.add(p.name);
    }
    const raw = new Float64Array(nodes.length);
    for (const p of this.plugins.all()) {
      if (!p.score || skipped.has(p.name)) continue;
      for (let i = 0; i < nodes.length; i++) {
        let v = 0;
        try { v = p.score(state, pod, nodes[i], handle); } catch { v = 0; }
        raw[i] = Number.isFinite(v) ? v : 0;
      }
      if (p.normalize) normalizeByName(p, state, pod, nodes, raw);
      const weight = p.weight ?? 1;
      for (let i = 0; i < nodes.length; i++) {
        const w = Math.max(0, Math.min(100, raw[i])) * weight;
        totals[i] += w;
        if (detail) detail[i][p.name] = w;
      }
    }
    return totals;
  }

  /** Weighted scores per node: total and per plugin. */
  score(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], handle: SchedulerHandle): Map<string, ScoreDetail> {
    const detail = nodes.map(() => ({}));
    const totals = this.totals(state, pod, nodes, handle, detail);
    return new Map(nodes.map((n, i) => [n.node.metadata.name, { total: totals[i], byPlugin: detail[i] }]));
  }

  async reserve(state: CycleState, pod: Pod, nodeName: string): Promise<Status> {
    const done: SchedulingPlugin[] = [];
    for (const p of this.plugins.all()) {
      if (!p.reserve) continue;
      let s: Status;
      try { s = await p.reserve(state, pod, nodeName); } catch (e) { s = Status.error((e as Error).message); }
      if (s.code !== 'Success' && s.code !== 'Skip') {
        this.unreserve(state, pod, nodeName, [...done, p]);
        return { ...s, plugin: p.name };
      }
      done.push(p);
    }
    return Status.success();
  }

  unreserve(state: CycleState, pod: Pod, nodeName: string, which = this.plugins.all()): void {
    for (const p of [...which].reverse()) {
      try { p.unreserve?.(state, pod, nodeName); } catch { /* unreserve must not fail */ }
    }
  }

  /** Bind plugins other than the default, in order; undefined when all skipped. */
  async bind(state: CycleState, pod: Pod, nodeName: string): Promise<Status | undefined> {
    for (const p of this.plugins.all()) {
      if (!p.bind) continue;
      let s: Status;
      try { s = await p.bind(state, pod, nodeName); } catch (e) { s = Status.error((e as Error).message); }
      if (s.code !== 'Skip') return { ...s, plugin: p.name };
    }
    return undefined;
  }

  postFilterPlugins(): SchedulingPlugin[] {
    return this.plugins.all().filter((p) => p.postFilter);
  }
}

/** Feasible nodes an attempt looks for: kube-scheduler's minFeasibleNodesToFind. */
const MIN_FEASIBLE = 100;

/**
 * How many feasible nodes to look for before scoring: all of a cluster
 * under 100 nodes; otherwise `percentage` of the nodes (at least 100), or,
 * when 0 (the default), 100. kube-scheduler's adaptive default would look
 * at 5–50% of the nodes (500 of 5,000), but filtering and scoring dominate
 * an attempt, and with the rotating start every node still gets its turn;
 * set percentageOfNodesToScore to look wider.
 */
export function numFeasibleNodesToFind(total: number, percentage = 0): number {
  if (total < MIN_FEASIBLE || percentage >= 100) return total;
  if (percentage <= 0) return MIN_FEASIBLE;
  return Math.min(total, Math.max(MIN_FEASIBLE, Math.floor(total * percentage / 100)));
}

/** "0/5 nodes are available: 3 nodes: insufficient memory, 2 nodes: didn't match pod anti-affinity rules." */
export function unschedulableMessage(total: number, statuses: Iterable<Status>): string {
  const counts = new Map<string, number>();
  for (const s of statuses) for (const r of new Set(s.reasons)) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, n]) => `${n} node${n === 1 ? '' : 's'}: ${r}`);
  return `0/${total} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}

/** Runs a plugin's `normalize`, whose contract is a map of node name to score, and copies the result back. */
function normalizeByName(p: SchedulingPlugin, state: CycleState, pod: Pod, nodes: readonly NodeInfo[], raw: Float64Array): void {
  const byName = new Map<string, number>();
  nodes.forEach((n, i) => byName.set(n.node.metadata.name, raw[i]));
  try { p.normalize!(state, pod, byName); } catch { return; /* a broken normalize leaves raw scores */ }
  nodes.forEach((n, i) => {
    const v = byName.get(n.node.metadata.name);
    raw[i] = typeof v === 'number' && Number.isFinite(v) ? v : 0;
  });
}
