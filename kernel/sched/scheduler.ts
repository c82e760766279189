import {
  CycleState, DEFAULT_SCHEDULER_NAME, Disposable, Informer, KernObject, Logger, Node, NodeInfo, NodeVerdict, Pod, PodCondition, PriorityClass,
  REASON_FAILED_SCHEDULING, REASON_PREEMPTED, REASON_UNSCHEDULABLE, ScheduleExplanation, ScheduleResult, SchedulerHandle, SchedulingPlugin,
  Status, Syscalls, controllerKey, errors, eventObject, isConflict, isNotFound, isTerminalPod, podRequests,
} from '@kern/sdk';
import { ClusterInformers, ComponentInformers, informersFor } from './cluster-informers';
import { FrameworkRuntime, MapCycleState, SchedulerPluginSet, numFeasibleNodesToFind, unschedulableMessage } from './framework-runtime';
import { NodeInfoImpl } from './node-info';
import { InterPodAffinity } from './plugins/inter-pod-affinity';
import { NodeAffinity } from './plugins/node-affinity';
import { NodeName } from './plugins/node-name';
import { NodeResourcesBalancedAllocation, NodeResourcesFit, NodeResourcesLeastAllocated } from './plugins/node-resources';
import { NodeUnschedulable } from './plugins/node-unschedulable';
import { RuntimeClass } from './plugins/runtime-class';
import { PodTopologySpread } from './plugins/pod-topology-spread';
import { TaintToleration } from './plugins/taint-toleration';
import { SchedulerCache } from './scheduler-cache';
import { SchedulingQueue, SchedulingQueueOptions } from './scheduling-queue';

export interface SchedulerOptions {
  /** 0 = adaptive (see numFeasibleNodesToFind). Default 0. */
  percentageOfNodesToScore?: number;
  queue?: SchedulingQueueOptions;
  /** Binds in flight at once. Default 64. */
  maxConcurrentBinds?: number;
  /** How long (ms) the scheduler may run pods back to back before yielding to the event loop. Default 10. */
  sliceMs?: number;
  /** Pod and Node caches shared with other kernel components; whoever passes them starts and stops them. */
  informers?: ClusterInformers;
}

/** The default plugins, in filter order (cheap, unresolvable checks first). */
export function defaultPlugins(): SchedulingPlugin[] {
  return [
    new NodeName(), new NodeUnschedulable(), new RuntimeClass(), new TaintToleration(), new NodeAffinity(), new NodeResourcesFit(),
    new PodTopologySpread(), new InterPodAffinity(), new NodeResourcesLeastAllocated(), new NodeResourcesBalancedAllocation(),
  ];
}

interface Attempt {
  /** Feasible nodes found (sampled). */
  feasible: NodeInfo[];
  /** Verdicts of the nodes that failed. */
  failed: Map<string, Status>;
  /** Set when PreFilter rejected the pod for every node. */
  preFilter?: Status;
}

/**
 * kube-scheduler's shape: a priority queue of pending pods, a cache of
 * NodeInfos kept by informers, filter → score → reserve → bind through
 * the plugin framework, preemption when nothing fits. The scheduling
 * cycle is synchronous (a consistent view without snapshots); binds run
 * in the background on an assumed cache.
 */
export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly framework: FrameworkRuntime;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  /** The Pod and Node caches: shared (options.informers) or this component's own. */
  private readonly cluster: ComponentInformers;
  private readonly classes: Informer<PriorityClass>;
  private readonly disposables: Disposable[] = [];
  private readonly binds = new Set<Promise<void>>();
  private readonly waiters = new Map<string, Set<(r: ScheduleResult) => void>>();
  private nextStartIndex = 0;
  /** Pods waiting for the room their preemption made: node → pod key → pod (status.nominatedNodeName, not bound yet). */
  private readonly nominations = new Map<string, Map<string, Pod>>();
  private readonly nominatedNode = new Map<string, string>();
  private running = false;
  private loop?: Promise<void>;
  readonly handle: SchedulerHandle;

  constructor(private readonly syscalls: Syscalls, private readonly logger: Logger, readonly plugins = new SchedulerPluginSet(), private readonly options: SchedulerOptions = {}) {
    this.queue = new SchedulingQueue(options.queue);
    plugins.ensureBuiltins(defaultPlugins);
    this.framework = new FrameworkRuntime(plugins);
    const onError = (err: Error) => this.logger.warn({ err: err.message }, 'scheduler informer error');
    this.cluster = informersFor(options.informers, syscalls, onError);
    this.pods = this.cluster.pods;
    this.nodes = this.cluster.nodes;
    this.classes = new Informer<PriorityClass>(syscalls, { kind: 'PriorityClass', onError });
    this.handle = {
      nodes: this.cache,
      podPriority: (pod) => this.podPriority(pod),
      podRequests: (pod) => podRequests(pod),
      evict: (pod, reason) => this.evict(pod, reason),
    };
  }

  async start(): Promise<void> {
    const pending = (p: Pod) => !p.spec?.nodeName && !p.metadata.deletionTimestamp && !isTerminalPod(p) && this.responsibleFor(p);
    this.disposables.push(
      this.nodes.onAdd((n) => { this.cache.setNode(n as never); this.queue.moveAllToActiveOrBackoff(); }),
      this.nodes.onUpdate((_o, n) => { this.cache.setNode(n as never); this.queue.moveAllToActiveOrBackoff(); }),
      this.nodes.onDelete((n) => { this.cache.removeNode(n.metadata.name); this.dropNominations(n.metadata.name); }),
      this.pods.onAdd((p) => {
        this.cache.setPod(p);
        this.trackNomination(p);
        if (pending(p)) this.queue.add(controllerKey(p), this.podPriority(p));
        this.notifyBound(p);
      }),
      this.pods.onUpdate((o, p) => {
        this.cache.setPod(p);
        this.trackNomination(p);
        const key = controllerKey(p);
        if (pending(p)) {
          const changed = JSON.stringify(o.spec) !== JSON.stringify(p.spec) || JSON.stringify(o.metadata.labels) !== JSON.stringify(p.metadata.labels);
          if (!this.cache.isAssumed(key)) this.queue.add(key, this.podPriority(p), changed);
        } else {
          this.queue.delete(key);
        }
        if (!isTerminalPod(o) && isTerminalPod(p)) this.queue.moveAllToActiveOrBackoff();
        this.notifyBound(p);
      }),
      this.pods.onDelete((p) => {
        const key = controllerKey(p);
        this.cache.removePod(key);
        this.trackNomination(p, true);
        this.queue.delete(key);
        if (p.spec?.nodeName) this.queue.moveAllToActiveOrBackoff();
      }),
    );
    this.classes.start();
    this.cluster.startOwned();
    await Promise.all([this.classes.waitForSync(30_000), this.nodes.waitForSync(30_000), this.pods.waitForSync(30_000)]);
    this.queue.start();
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.close();
    await this.loop;
    await Promise.allSettled([...this.binds]);
    for (const d of this.disposables.reverse()) await d.dispose();
    this.cluster.stopOwned();
    this.classes.stop();
  }

  /** The effective priority: spec.priority, the named PriorityClass, the global default, else 0. */
  podPriority(pod: Pod): number {
    if (typeof pod.spec?.priority === 'number') return pod.spec.priority;
    const name = pod.spec?.priorityClassName;
    if (name) {
      const pc = this.classes.get(undefined, name);
      if (pc && typeof pc.value === 'number') return pc.value;
    }
    const global = this.classes.list().find((c) => c.globalDefault);
    return typeof global?.value === 'number' ? global.value : 0;
  }

  private responsibleFor(p: Pod): boolean {
    const n = p.spec?.schedulerName;
    return !n || n === DEFAULT_SCHEDULER_NAME || n === 'kern-scheduler';
  }

  /**
   * Pods are scheduled back to back for up to `sliceMs` of each turn of the
   * event loop, then informer events, binds and API requests get their turn.
   * One pod per turn let a busy API outrun the scheduler: pods piled up in
   * the queue and waited seconds to be bound.
   */
  private async run(): Promise<void> {
    const maxBinds = this.options.maxConcurrentBinds ?? 64;
    const sliceMs = this.options.sliceMs ?? 10;
    while (this.running) {
      let key = await this.queue.pop();
      if (key === undefined || !this.running) return;
      const sliceEnd = performance.now() + sliceMs;
      while (key !== undefined) {
        try {
          await this.scheduleOne(key);
        } catch (e) {
          this.logger.error({ pod: key, err: (e as Error).message }, 'scheduling attempt failed');
        }
        while (this.binds.size >= maxBinds) await Promise.race(this.binds);
        if (!this.running || performance.now() >= sliceEnd) break;
        key = this.queue.tryPop();
      }
      await new Promise((r) => setImmediate(r));
    }
  }

  /** One attempt: filter, score, assume, bind in the background; or unschedulable (with preemption). */
  async scheduleOne(key: string): Promise<void> {
    const pod = this.pods.getByKey(key);
    if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp || isTerminalPod(pod) || this.cache.isAssumed(key)) return;
    const cycle = this.queue.cycle;
    const priority = this.podPriority(pod);
    const state = new MapCycleState();
    const attempt = this.findFeasible(state, pod, true);
    if (attempt.feasible.length === 0) {
      const total = this.cache.nodeCount;
      const message = attempt.preFilter?.code === 'Error'
        ? `scheduling failed: ${attempt.preFilter.reasons.join('; ')}`
        : unschedulableMessage(total, attempt.preFilter ? [attempt.preFilter] : attempt.failed.values());
      let nominated: string | undefined;
      if (this.awaitingVictims(pod)) {
        // it preempted already and its victims are still stopping: keep the nomination, evict no more
        nominated = pod.status?.nominatedNodeName;
      } else if (!attempt.preFilter && pod.spec?.preemptionPolicy !== 'Never') {
        nominated = await this.preempt(state, pod, attempt.failed);
      }
      // The room is this pod's from now on, not from when the informer brings
      // its new status; a failed preemption gives up an older nomination.
      this.trackNomination({ ...pod, status: { ...pod.status, nominatedNodeName: nominated } });
      this.queue.addUnschedulable(key, priority, cycle, attempt.preFilter?.code === 'Error' || nominated !== undefined);
      await this.recordUnschedulable(pod, message, nominated);
      this.notify(key, { namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name, outcome: 'Unschedulable', message });
      return;
    }
    const totals = this.framework.totals(state, pod, attempt.feasible, this.handle);
    const nodeName = attempt.feasible[pickBest(totals)].node.metadata.name;
    this.cache.assume(pod, nodeName);
    this.trackNomination(pod, true); // counted where it is assumed now, no longer where it was nominated
    const reserved = await this.framework.reserve(state, pod, nodeName);
    if (reserved.code !== 'Success') {
      this.cache.forget(pod);
      this.queue.addUnschedulable(key, priority, cycle, true);
      return;
    }
    const bind = this.bindInBackground(state, pod, nodeName, priority, cycle);
    this.binds.add(bind);
    void bind.finally(() => this.binds.delete(bind));
  }

  private async bindInBackground(state: CycleState, pod: Pod, nodeName: string, priority: number, cycle: number): Promise<void> {
    const key = controllerKey(pod);
    let status: Status;
    try {
      status = (await this.framework.bind(state, pod, nodeName)) ?? (await this.defaultBind(pod, nodeName));
    } catch (e) {
      status = Status.error((e as Error).message);
    }
    if (status.code === 'Success') {
      this.queue.done(key);
      return;
    }
    this.framework.unreserve(state, pod, nodeName);
    this.cache.forget(pod);
    this.trackNomination(pod);
    if (status.reasons[0] === GONE) return;
    this.logger.debug({ pod: key, node: nodeName, reasons: status.reasons }, 'bind failed, re-queued');
    this.queue.addUnschedulable(key, priority, cycle, true);
  }

  /** CAS update of spec.nodeName; on Conflict, once more against the newest version. */
  private async defaultBind(pod: Pod, nodeName: string): Promise<Status> {
    let current: Pod = pod;
    for (let i = 0; i < 2; i++) {
      try {
        await this.syscalls.call('state.update', { object: { ...current, spec: { ...current.spec!, nodeName } } as KernObject });
        return Status.success();
      } catch (e) {
        if (isNotFound(e)) return Status.error(GONE);
        if (!isConflict(e)) throw e;
      }
      try {
        current = (await this.syscalls.call('state.get', { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name })) as Pod;
      } catch (e) {
        if (isNotFound(e)) return Status.error(GONE);
        throw e;
      }
      if (current.spec?.nodeName || current.metadata.deletionTimestamp) {
        this.cache.setPod(current);
        return Status.error(GONE);
      }
      // The node was checked for the pod as it was: a pod re-created under
      // the same name, or with another spec, must be scheduled afresh.
      if (current.metadata.uid !== pod.metadata.uid || current.metadata.generation !== pod.metadata.generation) {
        return Status.error('the pod changed while it was being bound: it is scheduled again');
      }
    }
    return Status.error('conflict binding the pod: it changed meanwhile');
  }

  /**
   * Filters nodes from a rotating start so successive pods look at different
   * nodes; with `sample`, stops after numFeasibleNodesToFind feasible ones.
   */
  findFeasible(state: CycleState, pod: Pod, sample: boolean): Attempt {
    const failed = new Map<string, Status>();
    const pre = this.framework.preFilter(state, pod, this.handle);
    const all = this.cache.list();
    if (pre.code !== 'Success') return { feasible: [], failed, preFilter: pre };
    // a pod that preempted for a node tries that node first, as in kube-scheduler
    const nominatedName = sample ? pod.status?.nominatedNodeName : undefined;
    const nominatedInfo = nominatedName ? this.cache.get(nominatedName) : undefined;
    if (nominatedInfo && this.filterNode(state, pod, nominatedInfo).code === 'Success') return { feasible: [nominatedInfo], failed };
    const want = sample ? numFeasibleNodesToFind(all.length, this.options.percentageOfNodesToScore) : all.length;
    const active = this.framework.activeFilters(state);
    const feasible: NodeInfo[] = [];
    const n = all.length;
    let i = 0;
    for (; i < n && feasible.length < want; i++) {
      const info = all[(this.nextStartIndex + i) % n];
      const s = this.filterNode(state, pod, info, active);
      if (s.code === 'Success') feasible.push(info);
      else failed.set(info.node.metadata.name, s);
    }
    if (sample && n > 0) this.nextStartIndex = (this.nextStartIndex + i) % n;
    return { feasible, failed };
  }

  /**
   * Filters a node as if the pods nominated to it with at least this pod's
   * priority were already there (the room their preemption made is theirs),
   * and as it is; both must pass, as in kube-scheduler.
   */
  private filterNode(state: CycleState, pod: Pod, info: NodeInfo, active = this.framework.activeFilters(state)): Status {
    const withThem = this.withNominated(state, pod, info);
    if (withThem) {
      if (withThem.status.code !== 'Success') return withThem.status;
      const s = this.framework.filter(withThem.state, pod, withThem.info, this.handle, active);
      if (s.code !== 'Success') return s;
    }
    return this.framework.filter(state, pod, info, this.handle, active);
  }

  /**
   * Copies of `info` and `state` with the pods nominated to the node that
   * `pod` must leave room for, counted both on the node and in what
   * preFilter computed. Undefined when there are none.
   */
  private withNominated(state: CycleState, pod: Pod, info: NodeInfo): { info: NodeInfoImpl; state: CycleState; status: Status } | undefined {
    const waiting = this.nominations.size > 0 ? this.nominations.get(info.node.metadata.name) : undefined;
    if (!waiting) return undefined;
    const key = controllerKey(pod);
    const priority = this.podPriority(pod);
    let withThem: { info: NodeInfoImpl; state: CycleState; status: Status } | undefined;
    for (const [k, other] of waiting) {
      if (k === key || this.podPriority(other) < priority) continue;
      withThem ??= { info: (info as NodeInfoImpl).clone(), state: state.clone(), status: Status.success() };
      withThem.info.addPod(other);
      const s = this.framework.updateForPod('add', withThem.state, pod, other, withThem.info, this.handle);
      if (s.code !== 'Success' && withThem.status.code === 'Success') withThem.status = s;
    }
    return withThem;
  }

  /** True while the node this pod preempted for still has lower-priority pods stopping (kube-scheduler's PodEligibleToPreemptOthers). */
  private awaitingVictims(pod: Pod): boolean {
    const name = pod.status?.nominatedNodeName;
    const info = name ? this.cache.get(name) : undefined;
    if (!info) return false;
    const priority = this.podPriority(pod);
    for (const p of info.pods.values()) if (p.metadata.deletionTimestamp && this.podPriority(p) < priority) return true;
    return false;
  }

  /** Forgets the nominations to a node that is gone. */
  private dropNominations(nodeName: string): void {
    for (const key of this.nominations.get(nodeName)?.keys() ?? []) this.nominatedNode.delete(key);
    this.nominations.delete(nodeName);
  }

  /** Keeps `nominations` in step with a pod: nominated while pending with status.nominatedNodeName. */
  private trackNomination(p: Pod, gone = false): void {
    const key = controllerKey(p);
    const node = !gone && !p.spec?.nodeName && !p.metadata.deletionTimestamp && !isTerminalPod(p) ? p.status?.nominatedNodeName : undefined;
    const prev = this.nominatedNode.get(key);
    if (prev !== undefined && prev !== node) {
      const onPrev = this.nominations.get(prev);
      onPrev?.delete(key);
      if (onPrev?.size === 0) this.nominations.delete(prev);
      this.nominatedNode.delete(key);
    }
    if (!node) return;
    let onNode = this.nominations.get(node);
    if (!onNode) this.nominations.set(node, (onNode = new Map()));
    onNode.set(key, p);
    this.nominatedNode.set(key, node);
  }

  /**
   * DefaultPreemption: on each node where the failure was resolvable, take
   * away every lower-priority pod, check the pod fits, then give back as
   * many as possible (highest priority first). The node whose victims have
   * the lowest top priority, then the fewest victims, wins; its victims are
   * deleted and the pod nominated there.
   */
  private async preempt(state: CycleState, pod: Pod, failed: Map<string, Status>): Promise<string | undefined> {
    for (const p of this.framework.postFilterPlugins()) {
      const r = await p.postFilter!(state, pod, failed, this.handle);
      if (r.status.code === 'Success') return r.result?.nominatedNodeName;
    }
    const priority = this.podPriority(pod);
    let best: { node: string; victims: Pod[]; top: number } | undefined;
    for (const [nodeName, status] of failed) {
      if (status.code !== 'Unschedulable') continue;
      const info = this.cache.get(nodeName);
      if (!info) continue;
      const lower = [...info.pods.values()].filter((p) => this.podPriority(p) < priority && !p.metadata.deletionTimestamp);
      if (lower.length === 0) continue;
      // What-if copies of the node and of the attempt's preFilter results
      // (the extensions replace what they change, so one preFilter serves
      // every candidate node), both without the node's lower-priority pods.
      const trial: NodeInfoImpl = info.clone();
      const s = state.clone();
      const update = (change: 'add' | 'remove', v: Pod) => {
        if (change === 'add') trial.addPod(v);
        else trial.removePod(v);
        return this.framework.updateForPod(change, s, pod, v, trial, this.handle).code === 'Success';
      };
      if (!lower.every((v) => update('remove', v))) continue;
      // As in scheduling itself, it must fit both with the pods nominated
      // there (their room is not to be had) and without them (they may
      // never come, so they cannot be what satisfies its affinity).
      if (this.filterNode(s, pod, trial).code !== 'Success') continue;
      // Give back as many as still let the pod fit, highest priority first.
      const victims: Pod[] = [];
      for (const v of lower.sort((a, b) => this.podPriority(b) - this.podPriority(a))) {
        const fits = update('add', v) && this.filterNode(s, pod, trial).code === 'Success';
        if (!fits) { update('remove', v); victims.push(v); }
      }
      if (victims.length === 0) continue; // it fits without evicting anyone: nothing to preempt here
      const top = Math.max(...victims.map((v) => this.podPriority(v)));
      if (!best || top < best.top || (top === best.top && victims.length < best.victims.length)) best = { node: nodeName, victims, top };
    }
    if (!best) return undefined;
    for (const v of best.victims) await this.evict(v, `preempted by ${controllerKey(pod)} (priority ${priority}) on node ${best.node}`);
    this.logger.info({ pod: controllerKey(pod), node: best.node, victims: best.victims.map(controllerKey) }, 'preempted');
    return best.node;
  }

  private async evict(victim: Pod, message: string): Promise<void> {
    await this.syscalls.call('state.delete', { kind: 'Pod', namespace: victim.metadata.namespace, name: victim.metadata.name }).catch((e) => { if (!isNotFound(e)) throw e; });
    await this.event(victim, REASON_PREEMPTED, message, 'Normal');
  }

  /** PodScheduled=False with the message (and nominatedNodeName), plus an event, only when something changed. */
  private async recordUnschedulable(pod: Pod, message: string, nominated: string | undefined): Promise<void> {
    const prev = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (prev?.status === 'False' && prev.message === message && pod.status?.nominatedNodeName === nominated) return;
    const cond: PodCondition = { type: 'PodScheduled', status: 'False', reason: REASON_UNSCHEDULABLE, message, lastTransitionTime: new Date().toISOString() };
    const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), cond];
    try {
      await this.syscalls.call('state.update', {
        object: {
          ...pod, metadata: { ...pod.metadata, resourceVersion: undefined },
          status: { ...withoutNomination(pod.status), phase: pod.status?.phase ?? 'Pending', conditions, ...(nominated ? { nominatedNodeName: nominated } : {}) },
        } as KernObject,
        subresource: 'status',
      });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    await this.event(pod, REASON_FAILED_SCHEDULING, message, 'Warning');
  }

  private async event(pod: Pod, reason: string, message: string, type: 'Normal' | 'Warning'): Promise<void> {
    const object = eventObject(pod, { reason, message, type, component: DEFAULT_SCHEDULER_NAME });
    await this.syscalls.call('state.create', { object }).catch((e) => this.logger.debug({ err: (e as Error).message }, 'could not record event'));
  }

  // ---- syscalls ----

  /** `sched.explain`: every node's verdict and score for a stored or inline pod, binding nothing. */
  explain(args: { namespace?: string; name?: string; pod?: Pod }): ScheduleExplanation {
    let pod: Pod | undefined = args.pod;
    if (!pod) {
      if (!args.name) throw errors.invalid('name', 'give {namespace, name} of a pod, or {pod}');
      pod = this.pods.get(args.namespace || 'default', args.name);
      if (!pod) throw errors.notFound(`pod ${args.namespace || 'default'}/${args.name}`);
    }
    pod = { ...pod, metadata: { namespace: 'default', ...pod.metadata } };
    const key = controllerKey(pod);
    // a bound pod is explained as if it were pending again
    const assignedTo = this.cache.nodeOf(key);
    const me = assignedTo ? this.cache.get(assignedTo)?.pods.get(key) : undefined;
    if (me) this.cache.get(assignedTo!)!.removeKey(key);
    try {
      const state = new MapCycleState();
      const unbound: Pod = { ...pod, spec: { ...pod.spec!, nodeName: args.pod ? pod.spec?.nodeName : undefined } };
      const attempt = this.findFeasible(state, unbound, false);
      const scores = attempt.feasible.length ? this.framework.score(state, unbound, attempt.feasible, this.handle) : new Map();
      const chosen = attempt.feasible.length ? attempt.feasible[pickBest([...scores.values()].map((sc) => sc.total), true)].node.metadata.name : undefined;
      const verdicts: NodeVerdict[] = this.cache.list().map((info) => {
        const name = info.node.metadata.name;
        const failed = attempt.preFilter ?? attempt.failed.get(name);
        if (failed) return { node: name, verdict: failed.code === 'UnschedulableAndUnresolvable' ? 'UnschedulableAndUnresolvable' : 'Unschedulable', reasons: failed.reasons };
        const sc = scores.get(name);
        return { node: name, verdict: name === chosen ? 'Chosen' : 'Feasible', score: sc?.total ?? 0, scores: sc?.byPlugin ?? {}, reasons: [] };
      });
      verdicts.sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || a.node.localeCompare(b.node));
      return {
        pod: { namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name },
        nodeName: chosen,
        message: chosen ? undefined : unschedulableMessage(this.cache.nodeCount, attempt.preFilter ? [attempt.preFilter] : attempt.failed.values()),
        priority: this.podPriority(pod),
        nodes: verdicts,
      };
    } finally {
      if (me) this.cache.get(assignedTo!)?.addPod(me);
    }
  }

  /** `sched.bind`: checks the pod fits on the node, then binds it. */
  async bind(args: { namespace?: string; name: string; nodeName: string }): Promise<ScheduleResult> {
    if (!args.name) throw errors.invalid('name', 'is required (the pod to bind)');
    if (!args.nodeName) throw errors.invalid('nodeName', 'is required (the node to bind to)');
    const namespace = args.namespace || 'default';
    const pod = (await this.syscalls.call('state.get', { kind: 'Pod', namespace, name: args.name })) as Pod;
    if (pod.spec?.nodeName) throw errors.failedPrecondition(`pod ${namespace}/${args.name} is already bound to node ${pod.spec.nodeName}`);
    const info = this.cache.get(args.nodeName);
    if (!info) throw errors.notFound(`node ${args.nodeName}`, { field: 'nodeName' });
    const state = new MapCycleState();
    let s = this.framework.preFilter(state, pod, this.handle);
    if (s.code === 'Success') s = this.framework.filter(state, pod, info, this.handle);
    if (s.code !== 'Success') throw errors.failedPrecondition(`pod ${namespace}/${args.name} does not fit on node ${args.nodeName}: ${s.reasons.join(', ')}`);
    this.cache.assume(pod, args.nodeName);
    this.queue.delete(controllerKey(pod));
    const r = await this.defaultBind(pod, args.nodeName).catch((e) => { this.cache.forget(pod); throw e; });
    if (r.code !== 'Success') {
      this.cache.forget(pod);
      throw errors.conflict(`pod ${namespace}/${args.name} changed or went away while binding: try again`);
    }
    return { namespace, name: args.name, nodeName: args.nodeName, outcome: 'Scheduled' };
  }

  /** `sched.submit`: creates the pod, then waits for it to be bound or found unschedulable. */
  async submit(args: { pod: Pod; timeoutSeconds?: number }): Promise<ScheduleResult> {
    if (!args.pod || typeof args.pod !== 'object') throw errors.invalid('pod', 'is required (a Pod object)');
    const timeoutMs = Math.max(0, (args.timeoutSeconds ?? 30) * 1000);
    const input = { ...args.pod, apiVersion: args.pod.apiVersion ?? 'v1', kind: 'Pod', metadata: { namespace: 'default', ...args.pod.metadata } } as Pod;
    const key = controllerKey(input);
    return new Promise<ScheduleResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const set = this.waiters.get(key) ?? new Set();
      this.waiters.set(key, set);
      const done = (r: ScheduleResult) => {
        if (timer) clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        resolve(r);
      };
      set.add(done);
      this.syscalls.call('state.create', { object: input as KernObject }).then((created) => {
        const p = created as Pod;
        if (p.spec?.nodeName) done({ namespace: p.metadata.namespace!, name: p.metadata.name, nodeName: p.spec.nodeName, outcome: 'Scheduled' });
        timer = setTimeout(() => done({ namespace: p.metadata.namespace!, name: p.metadata.name, outcome: 'Timeout', message: `not scheduled within ${timeoutMs / 1000} s` }), timeoutMs);
      }, (e) => { set.delete(done); reject(e); });
    });
  }

  private notifyBound(p: Pod): void {
    if (p.spec?.nodeName) this.notify(controllerKey(p), { namespace: p.metadata.namespace ?? 'default', name: p.metadata.name, nodeName: p.spec.nodeName, outcome: 'Scheduled' });
  }

  private notify(key: string, r: ScheduleResult): void {
    const set = this.waiters.get(key);
    if (set) for (const w of [...set]) w(r);
  }
}

function withoutNomination(status: Pod['status']): Pod['status'] {
  if (!status || status.nominatedNodeName === undefined) return status;
  const { nominatedNodeName: _dropped, ...rest } = status;
  return rest;
}

/** Marks a bind that failed because the pod went away or was bound meanwhile (not retried). */
const GONE = 'pod was deleted or bound meanwhile';

/** The index of the highest total; ties broken at random (or the first when `stable`). */
function pickBest(totals: ArrayLike<number>, stable = false): number {
  let best = 0;
  let top = -Infinity;
  let ties = 0;
  for (let i = 0; i < totals.length; i++) {
    const t = totals[i];
    if (t > top) { top = t; best = i; ties = 1; }
    else if (t === top) {
      ties++;
      if (!stable && Math.random() * ties < 1) best = i;
    }
  }
  return best;
}

