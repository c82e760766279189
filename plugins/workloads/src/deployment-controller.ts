import {
  Deployment, DeploymentStatus, Disposable, LabelSelectorSpec, Logger, Pod, ReplicaSet, Syscalls, WorkQueue,
  WorkloadCondition, controllerKey, isAlreadyExists, silentLogger, splitControllerKey, ownerKeyOf, controllerOf,
  ignoreNotFound,
} from '@kern/sdk';
import { WorkloadInformers } from './workload-informers';
import {
  LastWrites, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, bareTemplate, isActive, isReady, isTerminating,
  msUntilAvailable, ownerReference, resolveIntOrPercent, stableStringify, templateHash, controllerQueue,
} from './workload-helpers';

/** Defaults, as in Kubernetes. */
export const DEPLOYMENT_DEFAULTS = {
  maxSurge: '25%',
  maxUnavailable: '25%',
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
} as const;

/**
 * The Deployment's replica count when the controller last sized this
 * ReplicaSet (as Kubernetes' annotation): a live ReplicaSet whose value
 * differs from spec.replicas means the Deployment was scaled.
 */
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';

/** What the controller knows about one ReplicaSet of a Deployment. */
interface RsView {
  rs: ReplicaSet;
  /** spec.replicas. */
  replicas: number;
  /** Every pod it controls, terminating ones too. */
  pods: number;
  /** Active pods (not terminating, not finished). */
  active: number;
  ready: number;
  /** Available pods, never more than spec.replicas. */
  available: number;
  revision: number;
}

/**
 * Rolls Deployments out over ReplicaSets named `<deployment>-<template
 * hash>`: RollingUpdate within maxSurge/maxUnavailable, or Recreate; keeps
 * `revisionHistoryLimit` old ReplicaSets; honours `spec.paused`; reports
 * Available and Progressing (False with ProgressDeadlineExceeded when a
 * rollout makes no progress for `progressDeadlineSeconds`).
 */
export class DeploymentController implements Disposable {
  private readonly queue: WorkQueue<string>;
  private readonly lastWrites = new LastWrites<ReplicaSet>();
  private readonly subscriptions: Disposable[] = [];

  constructor(
    private readonly syscalls: Syscalls,
    private readonly informers: WorkloadInformers,
    private readonly logger: Logger = silentLogger,
  ) {
    this.queue = controllerQueue('deployment', this.logger);
  }

  start(concurrency = 2): void {
    const { deployments, replicaSets, pods } = this.informers;
    const byRs = (rs: ReplicaSet) => {
      const owner = ownerKeyOf(rs, 'Deployment');
      if (owner) this.queue.add(owner);
    };
    const byPod = (p: Pod) => {
      const ref = controllerOf(p);
      if (ref?.kind !== 'ReplicaSet') return;
      const rs = replicaSets.get(p.metadata.namespace, ref.name);
      if (rs) byRs(rs);
    };
    this.subscriptions.push(
      deployments.onAdd((d) => this.queue.add(controllerKey(d))),
      deployments.onUpdate((_o, d) => this.queue.add(controllerKey(d))),
      replicaSets.onAdd(byRs),
      replicaSets.onUpdate((_o, rs) => byRs(rs)),
      replicaSets.onDelete((rs) => { this.lastWrites.forget(rs); byRs(rs); }),
      // Pods matter for Recreate (wait until old pods are gone) and for availability.
      pods.onUpdate((o, p) => { if (isReady(o) !== isReady(p) || isTerminating(o) !== isTerminating(p)) byPod(p); }),
      pods.onDelete(byPod),
    );
    this.queue.start((key) => this.sync(key), concurrency);
  }

  async dispose(): Promise<void> {
    this.subscriptions.splice(0).forEach((s) => s.dispose());
    await this.queue.shutdown();
  }

  async sync(key: string): Promise<void> {
    const d = this.informers.deployments.getByKey(key);
    if (!d || !d.spec || isTerminating(d)) return;
    const { namespace } = splitControllerKey(key);
    const now = Date.now();
    const desired = d.spec.replicas ?? 1;
    const hash = templateHash(d.spec.template);
    const newName = `${d.metadata.name}-${hash}`;

    let views = this.viewsOf(d, namespace ?? '', now);
    let newView = views.find((v) => v.rs.metadata.name === newName);
    const maxRevision = Math.max(0, ...views.map((v) => v.revision));

    if (d.spec.paused) {
      // Paused: no new ReplicaSet, but a changed replica count still applies,
      // spread over the ReplicaSets of an unfinished rollout.
      const live = views.filter((v) => v.replicas > 0);
      const only = live.length === 1 ? live[0] : live.length === 0 ? newView : undefined;
      if (only && only.replicas !== desired) await this.scale(only.rs, desired, desired);
      else if (live.length > 1 && scaledSince(live, desired)) await this.scaleProportionally(d, live, desired);
      await this.writeStatus(d, this.viewsOf(d, namespace ?? '', now), newView, now);
      return;
    }

    if (!newView) {
      const created = await this.createReplicaSet(d, hash, newName, maxRevision + 1);
      views = this.viewsOf(d, namespace ?? '', now, created);
      newView = views.find((v) => v.rs.metadata.name === newName);
    } else if (newView.revision < maxRevision || newView.revision === 0) {
      // A rollback (or an edit back to an old template) makes this one the newest revision again.
      await this.setRevision(newView.rs, maxRevision + 1);
      return; // the write wakes us again with a fresh view
    }
    if (!newView) return;
    const live = views.filter((v) => v.replicas > 0);
    if (live.length > 1 && scaledSince(live, desired)) {
      // Scaled in the middle of a rollout: every ReplicaSet grows or shrinks
      // in proportion first, then the rollout goes on from there.
      await this.scaleProportionally(d, live, desired);
      return; // the writes wake us with a fresh view
    }
    const olds = views.filter((v) => v !== newView).sort(oldestFirst);

    if (d.spec.strategy?.type === 'Recreate') {
      await this.recreate(d, newView, olds, desired);
    } else {
      await this.rollingUpdate(d, newView, olds, desired);
    }
    views = this.viewsOf(d, namespace ?? '', now);
    newView = views.find((v) => v.rs.metadata.name === newName);
    const complete = !!newView && newView.replicas === desired && newView.available === desired && views.every((v) => v === newView || (v.replicas === 0 && v.pods === 0));
    if (complete) await this.cleanup(d, views.filter((v) => v !== newView));
    await this.syncRevisionAnnotation(d, newView);
    await this.writeStatus(d, views, newView, now);
  }

  /** The ReplicaSets this deployment controls, with pod counts from the pod cache. */
  private viewsOf(d: Deployment, namespace: string, now: number, extra?: ReplicaSet): RsView[] {
    const sets = this.informers.replicaSets.list({ namespace, match: (rs) => controllerOf(rs)?.uid === d.metadata.uid }).map((rs) => this.lastWrites.freshest(rs));
    if (extra && !sets.some((s) => s.metadata.name === extra.metadata.name)) sets.push(extra);
    const pods = this.informers.pods.list({ namespace });
    return sets.map((rs) => {
      const mine = pods.filter((p) => controllerOf(p)?.uid === rs.metadata.uid);
      const active = mine.filter(isActive);
      const replicas = rs.spec?.replicas ?? 0;
      const available = active.filter((p) => msUntilAvailable(p, rs.spec?.minReadySeconds ?? d.spec?.minReadySeconds, now) === 0).length;
      return {
        rs, replicas, pods: mine.length, active: active.length, ready: active.filter(isReady).length,
        available: Math.min(available, replicas),
        revision: Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0,
      };
    });
  }

  private async createReplicaSet(d: Deployment, hash: string, name: string, revision: number): Promise<ReplicaSet> {
    const template = bareTemplate(d.spec!.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
    const selector: LabelSelectorSpec = {
      ...d.spec!.selector,
      matchLabels: { ...(d.spec!.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash },
    };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: d.metadata.namespace,
        labels: { ...(d.spec!.template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash },
        annotations: { [REVISION_ANNOTATION]: String(revision), [DESIRED_REPLICAS_ANNOTATION]: String(d.spec!.replicas ?? 1) },
        ownerReferences: [ownerReference(d)],
      },
      spec: { replicas: 0, selector, template, ...(d.spec!.minReadySeconds ? { minReadySeconds: d.spec!.minReadySeconds } : {}) },
    };
    try {
      const created = (await this.syscalls.call('state.create', { object: rs })) as ReplicaSet;
      this.logger.info({ deployment: d.metadata.name, replicaSet: name, revision }, 'created replicaset');
      return this.lastWrites.record(created);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = (await this.syscalls.call('state.get', { kind: 'ReplicaSet', namespace: d.metadata.namespace, name })) as ReplicaSet;
      if (controllerOf(existing)?.uid !== d.metadata.uid) {
        throw new Error(`replicaset ${name} exists and is not controlled by deployment ${d.metadata.name}: delete or rename it`);
      }
      return this.lastWrites.record(existing);
    }
  }

  private async recreate(d: Deployment, newView: RsView, olds: RsView[], desired: number): Promise<void> {
    let waiting = false;
    for (const o of olds) {
      if (o.replicas > 0) { await this.scale(o.rs, 0, desired); waiting = true; }
      if (o.pods > 0) waiting = true;
    }
    if (waiting) return; // old pods still exist: the pod deletes wake us
    if (newView.replicas !== desired) await this.scale(newView.rs, desired, desired);
  }

  private async rollingUpdate(d: Deployment, newView: RsView, olds: RsView[], desired: number): Promise<void> {
    const { maxSurge, maxUnavailable } = rollingParams(d);
    const all = [newView, ...olds];
    // Scale the new ReplicaSet up as far as maxSurge allows.
    if (newView.replicas > desired) {
      await this.scale(newView.rs, desired, desired);
      newView.replicas = desired;
    } else if (newView.replicas < desired) {
      const total = all.reduce((n, v) => n + v.replicas, 0);
      const room = desired + maxSurge - total;
      if (room > 0) {
        const to = newView.replicas + Math.min(room, desired - newView.replicas);
        await this.scale(newView.rs, to, desired);
        newView.replicas = to;
      }
    }
    // Scale old ones down, never below desired - maxUnavailable available pods.
    const oldCount = olds.reduce((n, v) => n + v.replicas, 0);
    if (oldCount === 0) return;
    const allCount = all.reduce((n, v) => n + v.replicas, 0);
    const minAvailable = desired - maxUnavailable;
    const newUnavailable = newView.replicas - newView.available;
    let budget = allCount - minAvailable - newUnavailable;
    if (budget <= 0) return;
    // First the unhealthy old replicas: removing them costs no availability.
    for (const o of olds) {
      if (budget <= 0) break;
      const unhealthy = o.replicas - o.available;
      if (unhealthy <= 0) continue;
      const down = Math.min(budget, unhealthy);
      await this.scale(o.rs, o.replicas - down, desired);
      o.replicas -= down;
      budget -= down;
    }
    // Then healthy ones, as far as total availability allows.
    const totalAvailable = all.reduce((n, v) => n + Math.min(v.available, v.replicas), 0);
    let allowed = totalAvailable - minAvailable;
    for (const o of olds) {
      if (allowed <= 0) break;
      if (o.replicas === 0) continue;
      const down = Math.min(o.replicas, allowed);
      await this.scale(o.rs, o.replicas - down, desired);
      o.replicas -= down;
      allowed -= down;
    }
  }

  /**
   * Grows or shrinks the live ReplicaSets toward the scaled Deployment's
   * allowed total (replicas, plus maxSurge for RollingUpdate), each in
   * proportion to its size; what rounding leaves goes to the largest (the
   * newest on a tie), as Kubernetes does.
   */
  private async scaleProportionally(d: Deployment, live: RsView[], desired: number): Promise<void> {
    const allowed = desired + (d.spec?.strategy?.type === 'Recreate' ? 0 : rollingParams(d).maxSurge);
    const ordered = [...live].sort((a, b) => b.replicas - a.replicas || -oldestFirst(a, b));
    const sizes = proportionalSizes(ordered.map((v) => v.replicas), allowed);
    this.logger.info({ deployment: d.metadata.name, replicas: desired, replicaSets: ordered.map((v, i) => `${v.rs.metadata.name}=${sizes[i]}`) }, 'scaling the rollout proportionally');
    for (let i = 0; i < ordered.length; i++) await this.scale(ordered[i].rs, sizes[i], desired);
  }

  /** Sets a ReplicaSet's replicas, and records the Deployment size it was sized for. */
  private async scale(rs: ReplicaSet, replicas: number, desired: number): Promise<void> {
    const annotated = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION] === String(desired);
    if ((rs.spec?.replicas ?? 0) === replicas && annotated) return;
    const next: ReplicaSet = {
      ...rs,
      metadata: { ...rs.metadata, annotations: { ...(rs.metadata.annotations ?? {}), [DESIRED_REPLICAS_ANNOTATION]: String(desired) } },
      spec: { ...rs.spec!, replicas },
    };
    const written = (await this.syscalls.call('state.update', { object: next })) as ReplicaSet;
    this.lastWrites.record(written);
    this.logger.debug({ replicaSet: rs.metadata.name, from: rs.spec?.replicas, to: replicas }, 'scaled replicaset');
  }

  private async setRevision(rs: ReplicaSet, revision: number): Promise<void> {
    const next: ReplicaSet = { ...rs, metadata: { ...rs.metadata, annotations: { ...(rs.metadata.annotations ?? {}), [REVISION_ANNOTATION]: String(revision) } } };
    this.lastWrites.record((await this.syscalls.call('state.update', { object: next })) as ReplicaSet);
  }

  /** Deletes the oldest unused ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(d: Deployment, olds: RsView[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? DEPLOYMENT_DEFAULTS.revisionHistoryLimit;
    const idle = olds.filter((v) => v.replicas === 0 && v.pods === 0 && !isTerminating(v.rs)).sort(oldestFirst);
    for (const v of idle.slice(0, Math.max(0, idle.length - limit))) {
      await ignoreNotFound(() => this.syscalls.call('state.delete', { kind: 'ReplicaSet', namespace: v.rs.metadata.namespace, name: v.rs.metadata.name }));
      this.lastWrites.forget(v.rs);
    }
  }

  private async syncRevisionAnnotation(d: Deployment, newView: RsView | undefined): Promise<void> {
    if (!newView?.revision) return;
    if (d.metadata.annotations?.[REVISION_ANNOTATION] === String(newView.revision)) return;
    const next: Deployment = { ...d, metadata: { ...d.metadata, annotations: { ...(d.metadata.annotations ?? {}), [REVISION_ANNOTATION]: String(newView.revision) } } };
    delete next.status;
    await this.syscalls.call('state.update', { object: next });
  }

  private async writeStatus(d: Deployment, views: RsView[], newView: RsView | undefined, now: number): Promise<void> {
    const desired = d.spec?.replicas ?? 1;
    const { maxUnavailable } = rollingParams(d);
    const sum = (f: (v: RsView) => number) => views.reduce((n, v) => n + f(v), 0);
    const status: DeploymentStatus = {
      observedGeneration: d.metadata.generation,
      replicas: sum((v) => v.active),
      updatedReplicas: newView?.active ?? 0,
      readyReplicas: sum((v) => v.ready),
      availableReplicas: sum((v) => v.available),
    };
    status.unavailableReplicas = Math.max(0, desired - (status.availableReplicas ?? 0));
    const old = d.status?.conditions ?? [];
    const stamp = new Date(now).toISOString();
    const countsChanged = stableStringify(counts(d.status)) !== stableStringify(counts(status));

    const minOk = (status.availableReplicas ?? 0) >= desired - (d.spec?.strategy?.type === 'Recreate' ? desired : maxUnavailable);
    const available: WorkloadCondition = minOk
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };

    const prev = old.find((c) => c.type === 'Progressing');
    const complete = status.updatedReplicas === desired && status.replicas === desired && status.availableReplicas === desired;
    const deadline = (d.spec?.progressDeadlineSeconds ?? DEPLOYMENT_DEFAULTS.progressDeadlineSeconds) * 1000;
    let progressing: WorkloadCondition;
    if (d.spec?.paused) {
      progressing = { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused.' };
    } else if (complete) {
      progressing = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${newView?.rs.metadata.name}" has successfully progressed.` };
    } else if (!countsChanged && prev && (prev.reason === 'ProgressDeadlineExceeded'
      || (prev.reason === 'ReplicaSetUpdated' && prev.lastUpdateTime && now - Date.parse(prev.lastUpdateTime) > deadline))) {
      // No progress within the deadline; it stays exceeded until the counts move again.
      progressing = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${newView?.rs.metadata.name}" has timed out progressing.`, lastUpdateTime: prev.reason === 'ProgressDeadlineExceeded' ? prev.lastUpdateTime : stamp };
    } else {
      progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${newView?.rs.metadata.name}" is progressing.` };
      if (!countsChanged && prev?.reason === 'ReplicaSetUpdated' && prev.lastUpdateTime) progressing.lastUpdateTime = prev.lastUpdateTime;
      // Look again when the deadline would pass.
      const since = progressing.lastUpdateTime ? Date.parse(progressing.lastUpdateTime) : now;
      this.queue.addAfter(controllerKey(d), Math.max(0, since + deadline - now) + 100);
    }
    status.conditions = [withTimes(available, old, stamp), withTimes(progressing, old, stamp)];
    // Pods that are ready but not yet available (minReadySeconds): look again later.
    if ((status.readyReplicas ?? 0) > (status.availableReplicas ?? 0)) this.queue.addAfter(controllerKey(d), 1000);

    if (stableStringify(d.status ?? {}) === stableStringify(status)) return;
    const next: Deployment = { ...d, metadata: { ...d.metadata }, status };
    delete next.metadata.resourceVersion;
    await ignoreNotFound(() => this.syscalls.call('state.update', { object: next, subresource: 'status' }));
  }
}

function counts(s: DeploymentStatus | undefined): unknown {
  return [s?.replicas ?? 0, s?.updatedReplicas ?? 0, s?.readyReplicas ?? 0, s?.availableReplicas ?? 0];
}

/** Keeps lastTransitionTime while the status stays; lastUpdateTime as given or now. */
function withTimes(c: WorkloadCondition, old: WorkloadCondition[], stamp: string): WorkloadCondition {
  const prev = old.find((o) => o.type === c.type);
  const same = prev && prev.status === c.status && prev.reason === c.reason;
  return {
    ...c,
    lastUpdateTime: c.lastUpdateTime ?? (same ? prev.lastUpdateTime ?? stamp : stamp),
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime ?? stamp : stamp,
  };
}

/** maxSurge and maxUnavailable resolved against spec.replicas (surge rounds up, unavailable down; never both 0). */
export function rollingParams(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const desired = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const maxSurge = resolveIntOrPercent(ru?.maxSurge, DEPLOYMENT_DEFAULTS.maxSurge, desired, true, 'spec.strategy.rollingUpdate.maxSurge');
  let maxUnavailable = resolveIntOrPercent(ru?.maxUnavailable, DEPLOYMENT_DEFAULTS.maxUnavailable, desired, false, 'spec.strategy.rollingUpdate.maxUnavailable');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, desired) };
}

/** True when a live ReplicaSet was sized for another Deployment size than `desired` (ones never sized by this controller don't count). */
function scaledSince(live: RsView[], desired: number): boolean {
  return live.some((v) => {
    const was = v.rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
    return was !== undefined && was !== String(desired);
  });
}

/**
 * `sizes` (largest first) grown or shrunk to sum to `total`, each by its
 * share of the change, rounded; the remainder goes to the first, and no
 * size goes below zero.
 */
export function proportionalSizes(sizes: readonly number[], total: number): number[] {
  const sum = sizes.reduce((n, x) => n + x, 0);
  const change = total - sum;
  if (sum === 0 || change === 0) return [...sizes];
  const out = sizes.map((x) => Math.max(0, x + Math.round((x * change) / sum)));
  let left = total - out.reduce((n, x) => n + x, 0);
  for (let i = 0; left !== 0 && i < out.length; i++) {
    const step = left > 0 ? left : Math.max(left, -out[i]);
    out[i] += step;
    left -= step;
  }
  return out;
}

function oldestFirst(a: RsView, b: RsView): number {
  if (a.revision !== b.revision) return a.revision - b.revision;
  return (a.rs.metadata.creationTimestamp ?? '').localeCompare(b.rs.metadata.creationTimestamp ?? '');
}
