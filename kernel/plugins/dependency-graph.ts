import * as semver from 'semver';
import { KernelError } from '@kern/sdk';

/** What the graph needs to know about a plugin. */
export interface DependencyNode {
  id: string;
  version: string;
  /** Plugin id → semver range. */
  requires: Record<string, string>;
}

/** The result of resolving: what can be activated, in order, and why the rest cannot. */
export interface ActivationPlan {
  /** Ids reachable from the roots whose whole dependency closure resolves, dependencies first. */
  order: string[];
  /** Id → why it cannot be activated (FailedPrecondition with the chain named, NotFound for an unknown root). */
  problems: Map<string, KernelError>;
}

export const DEPENDENCY_MISSING = 'KERN_ERR_PLUGIN_DEPENDENCY_MISSING';
export const DEPENDENCY_VERSION = 'KERN_ERR_PLUGIN_DEPENDENCY_VERSION';
export const DEPENDENCY_CYCLE = 'KERN_ERR_PLUGIN_DEPENDENCY_CYCLE';

interface Failure {
  /** From the failing node to where the problem is, e.g. [x, a, c]. */
  chain: string[];
  /** What is wrong at the end of the chain. */
  what: 'missing' | 'version' | 'cycle';
  detail: string;
  field: string;
}

export const arrow = (chain: readonly string[]): string => chain.join(' → ');

/**
 * Orders `roots` (default: every node) and everything they require so that
 * each plugin comes after its dependencies. Depth-first in the order given
 * (roots, then each plugin's `requires` in declaration order), so the result
 * is deterministic. A missing dependency, a version outside the required
 * range, or a cycle refuses the plugins involved and everything that
 * requires them, each with the chain from itself to the problem, e.g.
 * `dependency cycle: a → b → c → a`. Never throws.
 */
export function planActivation(nodes: Iterable<DependencyNode>, roots?: readonly string[]): ActivationPlan {
  const byId = new Map<string, DependencyNode>();
  for (const n of nodes) byId.set(n.id, n);
  const visiting = new Set<string>();
  const done = new Set<string>();
  const failures = new Map<string, Failure>();
  const problems = new Map<string, KernelError>();
  const order: string[] = [];
  const stack: string[] = [];

  const fail = (id: string, f: Failure) => {
    if (!failures.has(id)) failures.set(id, f);
  };

  const visit = (id: string): void => {
    if (done.has(id)) return;
    const node = byId.get(id)!;
    visiting.add(id);
    stack.push(id);
    for (const [dep, range] of Object.entries(node.requires)) {
      const target = byId.get(dep);
      if (!target) {
        fail(id, { chain: [id, dep], what: 'missing', field: `kern.requires.${dep}`,
          detail: `${id} requires ${dep} ${range}, which is not installed` });
        continue;
      }
      if (!semver.satisfies(target.version, range, { includePrerelease: true })) {
        fail(id, { chain: [id, dep], what: 'version', field: `kern.requires.${dep}`,
          detail: `${id} requires ${dep} ${range} but ${dep} ${target.version} is installed` });
        continue;
      }
      if (visiting.has(dep)) {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        const members = cycle.slice(0, -1);
        members.forEach((m, i) => {
          // Each member names the cycle starting from itself: b → c → a → b.
          const rotated = [...members.slice(i), ...members.slice(0, i), m];
          fail(m, { chain: rotated, what: 'cycle', field: `kern.requires`, detail: '' });
        });
        continue;
      }
      visit(dep);
      const sub = failures.get(dep);
      if (sub) fail(id, { ...sub, chain: [id, ...sub.chain] });
    }
    stack.pop();
    visiting.delete(id);
    done.add(id);
    if (!failures.has(id)) order.push(id);
  };

  for (const root of roots ?? [...byId.keys()]) {
    if (!byId.has(root)) {
      problems.set(root, new KernelError('NotFound', `plugin ${root} not found; it was not discovered or loaded`, { code: 'KERN_ERR_PLUGIN_NOT_FOUND' }));
      continue;
    }
    visit(root);
  }

  for (const [id, f] of failures) problems.set(id, toError(f));
  return { order, problems };
}

/** Like {@link planActivation} but throws the first problem; for callers that need all or nothing. */
export function activationOrder(nodes: Iterable<DependencyNode>, roots?: readonly string[]): string[] {
  const plan = planActivation(nodes, roots);
  const first = plan.problems.values().next();
  if (!first.done) throw first.value;
  return plan.order;
}

function toError(f: Failure): KernelError {
  switch (f.what) {
    case 'missing':
      return new KernelError('FailedPrecondition', `missing dependency: ${arrow(f.chain)} (${f.detail}); install or load it`, { field: f.field, code: DEPENDENCY_MISSING });
    case 'version':
      return new KernelError('FailedPrecondition', `dependency version mismatch: ${arrow(f.chain)} (${f.detail})`, { field: f.field, code: DEPENDENCY_VERSION });
    case 'cycle':
      return new KernelError('FailedPrecondition', `dependency cycle: ${arrow(f.chain)}; remove one of these requires`, { field: f.field, code: DEPENDENCY_CYCLE });
  }
}
