import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  Disposable, ExecFrame, Informer, KernObject, Logger, LogsArgs, ExecArgs, Pod, RUNTIME_LABELS, RuntimeDriver, Syscalls, WorkQueue,
  controllerKey, errors, isConflict, isNotFound,
} from '@kern/sdk';
import { MachineFacts, readMachineFacts } from './node-facts';
import { NodeRegistrar } from './node-registrar';
import { PodSync, isPodFinished } from './pod-sync';
import { ProbeManager } from './probes';
import { BackoffPolicy, DEFAULT_BACKOFF, RestartBackoff } from './restart-backoff';

/** The finalizer that lets the agent stop a pod's containers before the pod is gone. */
export const AGENT_FINALIZER = 'kern.io/node-agent';

export interface NodeAgentOptions {
  nodeName: string;
  dataDir: string;
  labels?: Record<string, string>;
  zone?: string;
  capacity?: Record<string, string>;
  reserved?: Record<string, string>;
  /** Default: 10 s (Kubernetes' node status period). */
  heartbeatSeconds?: number;
  /** Default: 40 s. */
  leaseDurationSeconds?: number;
  /** Every pod is synced at least this often even without events. Default: 10 s. */
  resyncSeconds?: number;
  /** Orphaned containers are looked for this often. Default: 30 s. */
  orphanSweepSeconds?: number;
  backoff?: BackoffPolicy;
  /** Pods synced at once. Default: 4. */
  concurrency?: number;
  facts?: MachineFacts;
}

/**
 * The node agent: turns the pods bound to this node into containers through
 * the runtime driver, writes their status back, and registers and heartbeats
 * the node. Stopping the agent leaves containers running; a new agent adopts
 * them (they carry the pod uid and container name in labels).
 */
export class NodeAgent {
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue<string>;
  private readonly podSync: PodSync;
  private readonly probes: ProbeManager;
  private readonly registrar: NodeRegistrar;
  private readonly known = new Map<string, string>(); // pod key → uid, to tear down pods deleted outright
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly disposables: Disposable[] = [];
  private readonly hostIP: string;
  private stopped = false;

  constructor(private readonly syscalls: Syscalls, private readonly runtime: RuntimeDriver, private readonly opts: NodeAgentOptions, private readonly logger: Logger) {
    const facts = opts.facts ?? readMachineFacts();
    this.hostIP = facts.address;
    this.registrar = new NodeRegistrar(syscalls, runtime, {
      nodeName: opts.nodeName, facts, labels: opts.labels, zone: opts.zone, capacity: opts.capacity, reserved: opts.reserved,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 40, dataDir: opts.dataDir,
    }, logger);
    this.pods = new Informer<Pod>(syscalls, {
      kind: 'Pod',
      onError: (err, source) => this.logger.debug({ err: err.message, source }, 'pod informer error'),
    });
    this.queue = new WorkQueue<string>({
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      onError: (key, err, n) => this.logger.warn({ pod: key, err: (err as Error).message, failures: n }, 'pod sync failed'),
    });
    this.probes = new ProbeManager(runtime, (uid) => {
      for (const [key, u] of this.known) if (u === uid) this.queue.add(key);
    });
    this.podSync = new PodSync(runtime, this.probes, new RestartBackoff(opts.backoff ?? DEFAULT_BACKOFF), join(opts.dataDir, 'pods'), logger);
  }

  get nodeName(): string {
    return this.opts.nodeName;
  }

  /** What the runtime driver says about itself (name, version, capabilities). */
  runtimeInfo(): Promise<unknown> {
    return this.runtime.info();
  }

  async start(): Promise<void> {
    await this.registrar.register();
    const enqueue = (p: Pod) => { if (this.mine(p)) this.queue.add(controllerKey(p)); };
    this.disposables.push(
      this.pods.onAdd(enqueue),
      this.pods.onUpdate((_old, p) => enqueue(p)),
      this.pods.onDelete((p) => { if (this.known.has(controllerKey(p))) this.queue.add(controllerKey(p)); }),
    );
    this.pods.start();
    await this.pods.waitForSync(30_000);
    if (this.runtime.watchEvents) {
      this.disposables.push(this.runtime.watchEvents((e) => {
        const ns = e.labels[RUNTIME_LABELS.podNamespace];
        const name = e.labels[RUNTIME_LABELS.podName];
        if (ns && name) this.queue.add(`${ns}/${name}`);
      }));
    }
    this.queue.start((key) => this.syncKey(key), this.opts.concurrency ?? 4);
    // Orphans are swept in the background: readiness does not wait for them.
    this.sweepOrphans().catch((e) => this.logger.warn({ err: (e as Error).message }, 'orphan sweep failed'));
    const every = (seconds: number, fn: () => Promise<void>) => {
      const t = setInterval(() => { fn().catch((e) => this.logger.warn({ err: (e as Error).message }, 'agent periodic task failed')); }, seconds * 1000);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.heartbeatSeconds ?? 10, () => this.registrar.heartbeat());
    every(this.opts.resyncSeconds ?? 10, async () => { for (const p of this.pods.list()) enqueue(p); });
    every(this.opts.orphanSweepSeconds ?? 30, () => this.sweepOrphans());
    this.logger.info({ node: this.opts.nodeName }, 'node agent started');
  }

  /** Stops watching and syncing; containers keep running for the next agent to adopt. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.forEach((t) => clearInterval(t));
    for (const d of this.disposables.reverse()) await d.dispose();
    this.pods.stop();
    await this.queue.shutdown();
    this.probes.stopAll();
  }

  private mine(p: Pod): boolean {
    return p.spec?.nodeName === this.opts.nodeName;
  }

  private async syncKey(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    const pod = this.pods.get(namespace, name);
    if (!pod || !this.mine(pod)) {
      // Gone from the store (or moved): make sure nothing of it still runs.
      const uid = this.known.get(key);
      if (uid) {
        await this.podSync.teardown(uid, 0);
        this.known.delete(key);
      }
      return;
    }
    const uid = pod.metadata.uid!;
    const oldUid = this.known.get(key);
    if (oldUid && oldUid !== uid) await this.podSync.teardown(oldUid, 0);
    this.known.set(key, uid);

    if (pod.metadata.deletionTimestamp) {
      await this.podSync.teardown(uid, pod.spec?.terminationGracePeriodSeconds ?? 30);
      await this.removeFinalizer(pod);
      this.known.delete(key);
      return;
    }
    let current = pod;
    if (!pod.metadata.finalizers?.includes(AGENT_FINALIZER)) {
      const updated = await this.addFinalizer(pod);
      if (!updated) return; // changed meanwhile: the next event brings it back
      current = updated;
    }
    const result = await this.podSync.sync(current, this.hostIP);
    if (JSON.stringify(result.status) !== JSON.stringify(current.status ?? {})) {
      await this.syscalls.call('state.update', {
        object: { ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status: result.status } as KernObject,
        subresource: 'status',
      }).catch((e) => { if (!isNotFound(e)) throw e; });
    }
    if (result.requeueAfterMs !== undefined && !isPodFinished({ ...current, status: result.status })) {
      this.queue.addAfter(key, result.requeueAfterMs);
    }
  }

  /** Adds the agent's finalizer; the stored pod, or undefined when it changed meanwhile. */
  private async addFinalizer(pod: Pod): Promise<Pod | undefined> {
    const finalizers = [...(pod.metadata.finalizers ?? []), AGENT_FINALIZER];
    try {
      return (await this.syscalls.call('state.update', { object: { ...pod, metadata: { ...pod.metadata, finalizers } } as KernObject })) as Pod;
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) throw e;
      this.queue.add(controllerKey(pod));
      return undefined;
    }
  }

  private async removeFinalizer(pod: Pod): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const current = (await this.syscalls.call('state.get', { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name })) as Pod;
        if (current.metadata.uid !== pod.metadata.uid) return;
        const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== AGENT_FINALIZER);
        await this.syscalls.call('state.update', { object: { ...current, metadata: { ...current.metadata, finalizers } } as KernObject });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e)) throw e;
      }
    }
  }

  /** Removes containers and sandboxes whose pod is no longer bound here. */
  private async sweepOrphans(): Promise<void> {
    const ours = { [RUNTIME_LABELS.managed]: 'true', [RUNTIME_LABELS.node]: this.opts.nodeName };
    const uids = new Set<string>();
    for (const c of await this.runtime.listContainers(ours)) uids.add(c.labels[RUNTIME_LABELS.podUid]);
    for (const s of await this.runtime.listSandboxes(ours)) uids.add(s.labels[RUNTIME_LABELS.podUid]);
    // Read the pods only after listing: a container is made only for a pod
    // already in the cache, so one listed above always finds its pod here.
    const live = new Set(this.pods.list().filter((p) => this.mine(p)).map((p) => p.metadata.uid!));
    for (const uid of this.known.values()) live.add(uid);
    const orphans = [...uids].filter((uid) => uid && !live.has(uid));
    await Promise.all(orphans.map(async (uid) => {
      this.logger.info({ podUid: uid }, 'removing containers of a pod that is gone');
      await this.podSync.teardown(uid, 2);
    }));
  }

  // ---- compute.* syscalls ------------------------------------------------

  /**
   * Looks the pod and container up first (errors before any output), then
   * streams. `known` is the pod when the caller has just read it.
   */
  async logs(args: LogsArgs, known?: Pod): Promise<AsyncIterable<{ data: string }>> {
    const { pod, container } = await this.findPod(args.namespace, args.name, args.container, known);
    const instances = (await this.runtime.listContainers({ [RUNTIME_LABELS.podUid]: pod.metadata.uid!, [RUNTIME_LABELS.container]: container }))
      .sort((a, b) => Number(b.labels[RUNTIME_LABELS.attempt]) - Number(a.labels[RUNTIME_LABELS.attempt]));
    const target = args.previous ? instances[1] : instances[0];
    if (!target) {
      throw errors.notFound(args.previous ? `a previous instance of container "${container}" in pod "${pod.metadata.name}"` : `a running instance of container "${container}" in pod "${pod.metadata.name}" (is it still starting?)`);
    }
    const source = await this.runtime.logs(target.id, { follow: args.follow, tail: args.tail });
    // An object stream: ending it early (the client left) destroys the source at once.
    const chunks = new PassThrough({ objectMode: true });
    source.on('data', (d: Buffer | string) => chunks.write({ data: typeof d === 'string' ? d : d.toString('utf8') }));
    source.once('end', () => chunks.end());
    source.once('error', (e) => chunks.destroy(e));
    chunks.once('close', () => source.destroy());
    return chunks;
  }

  async exec(args: ExecArgs, known?: Pod): Promise<AsyncIterable<ExecFrame>> {
    if (!Array.isArray(args.command) || args.command.length === 0 || !args.command.every((c) => typeof c === 'string')) {
      throw errors.invalid('command', 'must be a non-empty list of strings, e.g. ["sh", "-c", "echo hi"]');
    }
    const { pod, container } = await this.findPod(args.namespace, args.name, args.container, known);
    const running = (await this.runtime.listContainers({ [RUNTIME_LABELS.podUid]: pod.metadata.uid!, [RUNTIME_LABELS.container]: container }))
      .find((c) => c.state === 'running');
    if (!running) throw errors.failedPrecondition(`container "${container}" of pod "${pod.metadata.name}" is not running`);
    const stdin = args.stdin !== undefined ? Readable.from([Buffer.from(args.stdin, 'base64')]) : undefined;
    const session = await this.runtime.exec(running.id, args.command, { stdin });
    // Output frames as they come, then the exit code once both streams ended.
    const frames = new PassThrough({ objectMode: true });
    const ended = (['stdout', 'stderr'] as const).map((name) => {
      const s = name === 'stdout' ? session.stdout : session.stderr;
      s.on('data', (d: Buffer | string) => frames.write({ stream: name, data: Buffer.from(d).toString('base64') }));
      return finished(s).catch(() => undefined);
    });
    Promise.all([session.exitCode, ...ended]).then(
      ([exitCode]) => frames.end({ exitCode }),
      (e) => frames.destroy(e as Error),
    );
    return frames;
  }

  private async findPod(namespace: string | undefined, name: string, container?: string, known?: Pod): Promise<{ pod: Pod; container: string }> {
    if (!name || typeof name !== 'string') throw errors.invalid('name', 'is required (the pod name)');
    const pod = known ?? (await this.syscalls.call('state.get', { kind: 'Pod', namespace: namespace || 'default', name })) as Pod;
    if (pod.spec?.nodeName !== this.opts.nodeName) {
      throw errors.unavailable(`pod "${name}" is ${pod.spec?.nodeName ? `on node ${pod.spec.nodeName}` : 'not scheduled yet'}, not on ${this.opts.nodeName}`);
    }
    const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
    const chosen = container ?? pod.spec?.containers[0]?.name;
    if (!chosen || !names.includes(chosen)) {
      throw errors.invalid('container', `pod "${name}" has no container "${container}" (it has: ${names.join(', ')})`);
    }
    return { pod, container: chosen };
  }
}
