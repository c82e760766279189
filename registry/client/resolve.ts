import * as semver from 'semver';
import { abiAdmits } from '../../kernel/plugins/manifest';
import { KernelError } from '@kern/sdk';
import { CLIENT_ERROR_CODES } from './client-errors';
import { PluginRequest, assertPluginId } from './plugin-request';

/** What the resolver needs of a published version (the registry's PluginVersionInfo has it all). */
export interface CandidateVersion {
  version: string;
  kernelAbi: string;
  requires: Record<string, string>;
  yanked: boolean;
  yankReason?: string;
}

/** Where a plugin that is already there comes from. Only 'installed' ones may be replaced. */
export type PresentSource = 'builtin' | 'installed' | 'extra';

/** A plugin already on this machine: built in, installed, or from the config's extra pluginDirs. */
export interface PresentPlugin {
  id: string;
  version: string;
  requires: Record<string, string>;
  source: PresentSource;
}

export interface ResolveInput<V extends CandidateVersion> {
  requests: PluginRequest[];
  /** The kernel's ABI version (KERN_ABI); every chosen version's kernelAbi must admit it. */
  kernelAbi: string;
  present: PresentPlugin[];
  /** The registry's versions of a plugin (any order), or undefined when it does not have the plugin. */
  versionsOf(id: string): Promise<V[] | undefined>;
  /** Installed ids to choose again even when their version still fits (upgrade). */
  refresh?: string[];
  /** Exact versions to use, by id (from a lock file); these may be yanked. */
  pinned?: Record<string, string>;
  /** How requests are named in conflict messages; default "requested". */
  requestedAs?: string;
}

export interface ResolvedPlugin<V extends CandidateVersion> {
  id: string;
  version: V;
  /** The installed version this replaces. */
  previous?: string;
  /** Why it is installed: the request, or the chain that requires it. */
  reason: string;
  /** Asked for directly, not only as a dependency. */
  requested: boolean;
}

/** A request that needs nothing fetched: a present plugin already satisfies it. */
export interface SatisfiedRequest {
  id: string;
  range: string;
  version: string;
  source: PresentSource;
}

export interface Resolution<V extends CandidateVersion> {
  /** What to fetch, dependencies before the plugins that require them. */
  install: ResolvedPlugin<V>[];
  satisfied: SatisfiedRequest[];
}

/** One requirement on a plugin, with the path that led to it (empty for a request). */
interface Constraint {
  id: string;
  range: string;
  chain: string[];
}

interface Pick<V> {
  version: V;
  constraint: Constraint;
}

/** Backtracking is bounded: plugin graphs are small, and a pathological one should fail, not hang. */
const MAX_STEPS = 10_000;

/**
 * Chooses plugin versions for `requests`: for each plugin the highest
 * version that is not yanked (unless pinned), whose kernelAbi admits the
 * kernel's ABI and that satisfies every range asking for it — from the
 * requests, from the chosen versions' `requires`, and from the present
 * plugins that stay. Requirements a present plugin already meets fetch
 * nothing; an installed plugin that does not meet one may be replaced,
 * a built-in may not. Backtracks over lower versions when a choice leads to
 * a conflict; when nothing works, the first conflict found is thrown
 * (FailedPrecondition) with the chains of requirements that clash, e.g.
 * `cannot install a@1.0.0: a@1.0.0 → b ^2.0.0 → c ^1.0.0, but d@1.2.0 → c ^2.0.0`.
 * NotFound for a requested plugin the registry does not have.
 */
export async function resolvePlugins<V extends CandidateVersion>(input: ResolveInput<V>): Promise<Resolution<V>> {
  const { kernelAbi } = input;
  const present = new Map(input.present.map((p) => [p.id, p]));
  const refresh = new Set(input.refresh ?? []);
  const pinned = input.pinned ?? {};
  const requestedAs = input.requestedAs ?? 'requested';
  const cache = new Map<string, Promise<V[] | undefined>>();
  const picks = new Map<string, Pick<V>>();
  let firstFailure: KernelError | undefined;
  let steps = 0;

  for (const r of input.requests) assertPluginId(r.id);

  const versionsOf = (id: string): Promise<V[] | undefined> => {
    let p = cache.get(id);
    if (!p) {
      p = input.versionsOf(id);
      cache.set(id, p);
    }
    return p;
  };
  const describe = (c: Constraint): string => (c.chain.length === 0 ? `${c.id}@${c.range} (${requestedAs})` : [...c.chain, `${c.id} ${c.range}`].join(' → '));
  const rootOf = (c: Constraint): string => c.chain[0] ?? `${c.id}@${c.range}`;
  const abiFits = (v: V): boolean => abiAdmits(v.kernelAbi, kernelAbi);
  const conflict = (c: Constraint, what: string): KernelError =>
    new KernelError('FailedPrecondition', `cannot install ${rootOf(c)}: ${what}`, { field: c.id, code: CLIENT_ERROR_CODES.conflict });
  const fail = (e: KernelError): false => {
    firstFailure ??= e;
    return false;
  };

  /** Ranges on `id` from present plugins that stay (not refreshed, not being replaced). */
  const presentDemands = (id: string): Constraint[] => input.present
    .filter((p) => p.id !== id && !refresh.has(p.id) && !picks.has(p.id) && p.requires[id] !== undefined)
    .map((p) => ({ id, range: p.requires[id], chain: [`${p.id}@${p.version}`] }));
  const on = (id: string, list: Constraint[]) => list.filter((k) => k.id === id);

  /** Usable versions of `id` under `constraints`, best first. */
  const eligible = (id: string, versions: V[], constraints: Constraint[]): V[] => {
    const pin = pinned[id];
    return versions
      .filter((v) => semver.valid(v.version) !== null
        && (pin !== undefined ? v.version === pin : !v.yanked)
        && abiFits(v)
        && constraints.every((k) => fits(v.version, k.range))
        // Pre-releases only when pinned or some range names one (as npm does).
        && (pin !== undefined || semver.prerelease(v.version) === null || constraints.some((k) => semver.satisfies(v.version, k.range))))
      .sort((a, b) => semver.rcompare(a.version, b.version));
  };

  /** Why no version of `c.id` works under `c` and `others`. */
  const explain = (c: Constraint, others: Constraint[], versions: V[], picked?: Pick<V>): KernelError => {
    const matching = versions.filter((v) => semver.valid(v.version) !== null && fits(v.version, c.range));
    if (matching.length === 0) {
      const have = versions.map((v) => v.version).slice(0, 10).join(', ') || 'no versions';
      return conflict(c, `no version of ${c.id} matches ${c.range} (${describe(c)}); the registry has ${have}`);
    }
    const pin = pinned[c.id];
    const unyanked = matching.filter((v) => (pin !== undefined ? v.version === pin : !v.yanked));
    if (unyanked.length === 0) {
      const why = matching.slice(0, 3).map((v) => `${v.version}${v.yankReason ? ` (${v.yankReason})` : ''}`).join(', ');
      return conflict(c, `${pin !== undefined ? `${c.id} ${pin} is not in the registry` : `every version of ${c.id} matching ${c.range} is yanked: ${why}`} (${describe(c)})`);
    }
    const usable = unyanked.filter(abiFits);
    if (usable.length === 0) {
      const v = unyanked[0];
      return conflict(c, `${c.id} ${v.version} needs kernel ABI ${v.kernelAbi} but this kernel provides ABI ${kernelAbi} (${describe(c)}); no version of ${c.id} matching ${c.range} is built for ABI ${kernelAbi}`);
    }
    for (const o of others) {
      if (!usable.some((v) => fits(v.version, o.range))) return conflict(c, `${describe(c)}, but ${describe(o)}`);
    }
    if (picked) return conflict(c, `${describe(c)}, but ${describe(picked.constraint)} chose ${c.id} ${picked.version.version}`);
    return conflict(c, `no version of ${c.id} satisfies all of: ${[c, ...others].map(describe).join('; ')}`);
  };

  const step = async (queue: Constraint[], seen: Constraint[]): Promise<boolean> => {
    if (++steps > MAX_STEPS) {
      throw new KernelError('FailedPrecondition',
        `gave up choosing versions after ${MAX_STEPS} attempts${firstFailure ? ` (first problem: ${firstFailure.message})` : ''}; ask for exact versions (NAME@VERSION)`,
        { code: CLIENT_ERROR_CODES.conflict });
    }
    if (queue.length === 0) return true;
    const [c, ...rest] = queue;
    const next = [...seen, c];

    const picked = picks.get(c.id);
    if (picked) {
      if (fits(picked.version.version, c.range)) return step(rest, next);
      const versions = (await versionsOf(c.id)) ?? [];
      return fail(explain(c, [picked.constraint, ...on(c.id, seen), ...presentDemands(c.id)], versions, picked));
    }

    const have = present.get(c.id);
    if (have && !refresh.has(c.id)) {
      if (fits(have.version, c.range)) return step(rest, next);
      if (have.source !== 'installed') {
        const what = have.source === 'builtin' ? 'built-in' : 'extra (config pluginDirs)';
        return fail(conflict(c, `${describe(c)}, but ${have.id} is the ${what} plugin ${have.id} ${have.version}, which kern plugin install does not replace`));
      }
      // An installed plugin that no longer fits is replaced: fall through.
    }

    assertPluginId(c.id, describe(c));
    const versions = await versionsOf(c.id);
    if (!versions) {
      const err = new KernelError('NotFound', `plugin ${c.id} not found in the registry (${describe(c)}); kern plugin search shows what it has`, { field: c.id, code: 'KERN_ERR_REGISTRY_PLUGIN_NOT_FOUND' });
      if (c.chain.length === 0) throw err;
      return fail(err);
    }
    const others = [...on(c.id, seen), ...on(c.id, rest), ...presentDemands(c.id)];
    const candidates = eligible(c.id, versions, [c, ...others]);
    if (candidates.length === 0) return fail(explain(c, others, versions));
    for (const v of candidates) {
      picks.set(c.id, { version: v, constraint: c });
      const chain = c.chain.length === 0 ? [`${c.id}@${v.version}`] : [...c.chain, `${c.id} ${c.range}`];
      const deps = Object.entries(v.requires ?? {}).map(([id, range]) => ({ id, range, chain }));
      if (await step([...rest, ...deps], next)) return true;
      picks.delete(c.id);
    }
    return false;
  };

  const roots = input.requests.map((r) => ({ id: r.id, range: r.range, chain: [] }));
  if (!(await step(roots, []))) {
    throw firstFailure ?? new KernelError('FailedPrecondition', 'no set of versions satisfies the request', { code: CLIENT_ERROR_CODES.conflict });
  }

  const install: ResolvedPlugin<V>[] = [];
  const satisfied: SatisfiedRequest[] = [];
  for (const id of dependencyOrder(picks)) {
    const pick = picks.get(id)!;
    const previous = present.get(id);
    // An upgrade that finds nothing newer is not an install.
    if (previous && previous.version === pick.version.version) continue;
    install.push({
      id, version: pick.version, reason: describe(pick.constraint), requested: pick.constraint.chain.length === 0,
      ...(previous ? { previous: previous.version } : {}),
    });
  }
  for (const r of input.requests) {
    const pick = picks.get(r.id);
    const have = present.get(r.id);
    if (have && (!pick || pick.version.version === have.version)) satisfied.push({ id: r.id, range: r.range, version: have.version, source: have.source });
  }
  return { install, satisfied };
}

/** Semver satisfaction as the kernel checks it at load (pre-releases count). */
function fits(version: string, range: string): boolean {
  return semver.satisfies(version, range, { includePrerelease: true });
}

/** The chosen ids, each after the chosen ones it requires; Invalid for a cycle. */
function dependencyOrder<V extends CandidateVersion>(picks: Map<string, Pick<V>>): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (id: string, path: string[]): void => {
    if (done.has(id)) return;
    if (path.includes(id)) {
      const cycle = [...path.slice(path.indexOf(id)), id].map((x) => `${x}@${picks.get(x)!.version.version}`).join(' → ');
      throw new KernelError('Invalid', `dependency cycle: ${cycle}; plugins cannot require each other in a loop`, { field: id, code: CLIENT_ERROR_CODES.conflict });
    }
    for (const dep of Object.keys(picks.get(id)!.version.requires ?? {})) if (picks.has(dep)) visit(dep, [...path, id]);
    done.add(id);
    order.push(id);
  };
  for (const id of picks.keys()) visit(id, []);
  return order;
}
