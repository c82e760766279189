import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  Container, ContainerInfo, ContainerSpec, ContainerStatus, Logger, Pod, PodCondition, PodStatus, RUNTIME_LABELS,
  RuntimeDriver, SandboxStatus, isNotFound, parseCpuMillis, parseMemoryBytes,
} from '@kern/sdk';
import { ProbeManager } from './probes';
import { RestartBackoff } from './restart-backoff';

/** What one sync of a pod found and wants. */
export interface SyncResult {
  status: PodStatus;
  /** Sync again after this many ms (a back-off ending, a container starting). */
  requeueAfterMs?: number;
}

interface Waiting { reason: string; message?: string }

const KEEP_EXITED_PER_CONTAINER = 2;

/**
 * Makes one pod real on this node through the runtime driver, and reports
 * what is there. Idempotent: every call looks at what exists (by labels) and
 * does only what is missing, so it also adopts containers a previous agent
 * process started.
 */
export class PodSync {
  /** Per pod: inspected containers by `id/state` (stable while the state lasts). */
  private readonly details = new Map<string, Map<string, ContainerInfo>>();
  /** Images seen present; a create still fails cleanly if one is removed later. */
  private readonly images = new Set<string>();

  constructor(
    private readonly runtime: RuntimeDriver,
    private readonly probes: ProbeManager,
    private readonly backoff: RestartBackoff,
    private readonly podsDir: string,
    private readonly logger: Logger,
  ) {}

  async sync(pod: Pod, hostIP: string): Promise<SyncResult> {
    const uid = pod.metadata.uid!;
    const spec = pod.spec!;
    const policy = spec.restartPolicy ?? 'Always';
    const waiting = new Map<string, Waiting>();
    let requeue: number | undefined;
    const later = (ms: number) => { requeue = requeue === undefined ? ms : Math.min(requeue, ms); };

    const sandbox = await this.ensureSandbox(pod);
    const byName = await this.observe(uid);
    const finished = isPodFinished(pod);

    // Init containers run one at a time, in order, each to success.
    let initDone = true;
    let initFailed = false;
    for (const c of spec.initContainers ?? []) {
      const latest = byName.get(c.name)?.[0];
      if (latest?.state === 'exited' && latest.exitCode === 0) continue;
      initDone = false;
      if (finished) break;
      if (!latest) {
        await this.start(pod, sandbox, c, 0, waiting);
        later(1000);
      } else if (latest.state === 'exited') {
        if (policy === 'Never') initFailed = true;
        else await this.restartAfterBackoff(pod, sandbox, c, latest, waiting, later);
      } else if (latest.state === 'created') {
        await this.runtime.startContainer(latest.id);
      }
      break;
    }

    if (initDone && !initFailed && !finished) {
      for (const c of spec.containers) {
        const latest = byName.get(c.name)?.[0];
        if (!latest) {
          await this.start(pod, sandbox, c, 0, waiting);
          continue;
        }
        if (latest.state === 'created') {
          await this.runtime.startContainer(latest.id);
        } else if (latest.state === 'running') {
          this.probes.ensure(uid, latest.id, c, sandbox.ip);
          if (this.probes.result(latest.id, 'liveness', c) === false) {
            this.logger.info({ pod: pod.metadata.name, container: c.name }, 'liveness probe failed: restarting container');
            await this.runtime.stopContainer(latest.id, spec.terminationGracePeriodSeconds ?? 30);
            later(0);
          }
        } else if (policy === 'Always' || (policy === 'OnFailure' && latest.exitCode !== 0)) {
          await this.restartAfterBackoff(pod, sandbox, c, latest, waiting, later);
        }
      }
    }

    // Fresh view after the changes above, for an honest status.
    const after = await this.observe(uid);
    await this.pruneExited(after);
    const running = new Set<string>();
    for (const list of after.values()) if (list[0]?.state === 'running') running.add(list[0].id);
    this.probes.retain(uid, running);
    return { status: this.status(pod, sandbox, after, waiting, initDone, initFailed, hostIP), requeueAfterMs: requeue };
  }

  /**
   * The pod's containers by name, newest first, with exit details. A list
   * call says little about exited containers, so those (and running ones,
   * for their start time) are inspected once per state and remembered.
   */
  private async observe(podUid: string): Promise<Map<string, ContainerInfo[]>> {
    const listed = await this.runtime.listContainers({ [RUNTIME_LABELS.podUid]: podUid });
    const before = this.details.get(podUid) ?? new Map<string, ContainerInfo>();
    const now = new Map<string, ContainerInfo>();
    const detailed = await Promise.all(listed.map(async (c) => {
      if (c.state !== 'exited' && c.state !== 'running') return c;
      const key = `${c.id}/${c.state}`;
      const cached = before.get(key);
      const d = cached ?? await this.runtime.inspectContainer(c.id).catch(() => undefined);
      // The list entry stands in when inspect failed, but is not cached: it lacks start/finish times.
      if (!d) return c;
      if (d.state === c.state) now.set(key, d);
      return d;
    }));
    this.details.set(podUid, now);
    return groupLatestFirst(detailed);
  }

  /** Stops everything of the pod (SIGTERM, SIGKILL after the grace period), then removes it. */
  async teardown(podUid: string, graceSeconds: number): Promise<void> {
    const containers = await this.runtime.listContainers({ [RUNTIME_LABELS.podUid]: podUid });
    await Promise.all(containers.filter((c) => c.state === 'running').map((c) => this.runtime.stopContainer(c.id, graceSeconds)));
    await Promise.all(containers.map((c) => this.runtime.removeContainer(c.id)));
    for (const s of await this.runtime.listSandboxes({ [RUNTIME_LABELS.podUid]: podUid })) await this.runtime.removeSandbox(s.id);
    rmSync(join(this.podsDir, podUid), { recursive: true, force: true });
    this.details.delete(podUid);
    this.probes.retain(podUid, new Set());
    this.backoff.forget(`${podUid}/`);
  }

  private async ensureSandbox(pod: Pod): Promise<SandboxStatus> {
    const uid = pod.metadata.uid!;
    const found = await this.runtime.listSandboxes({ [RUNTIME_LABELS.podUid]: uid });
    const ready = found.find((s) => s.state === 'ready');
    for (const s of found) {
      if (s === ready) continue;
      // A dead sandbox takes the pod's network with it: its containers go too.
      const stale = await this.runtime.listContainers({ [RUNTIME_LABELS.podUid]: uid });
      await Promise.all(stale.filter((c) => c.sandboxId === s.id || !ready).map((c) => this.runtime.removeContainer(c.id)));
      await this.runtime.removeSandbox(s.id);
    }
    if (ready) return ready;
    return this.runtime.createSandbox({
      podUid: uid,
      podName: pod.metadata.name,
      podNamespace: pod.metadata.namespace ?? 'default',
      hostname: pod.spec?.hostname ?? pod.metadata.name.slice(0, 63),
      labels: podLabels(pod),
    });
  }

  private async restartAfterBackoff(pod: Pod, sandbox: SandboxStatus, c: Container, latest: ContainerInfo, waiting: Map<string, Waiting>, later: (ms: number) => void): Promise<void> {
    const key = `${pod.metadata.uid}/${c.name}`;
    const started = Date.parse(latest.startedAt ?? '') || Date.now();
    const exited = Date.parse(latest.finishedAt ?? '') || Date.now();
    this.backoff.recordExit(key, latest.id, exited - started, exited);
    const wait = this.backoff.remaining(key);
    if (wait > 0) {
      waiting.set(c.name, { reason: 'CrashLoopBackOff', message: `back-off ${Math.ceil(wait / 1000)}s restarting failed container ${c.name}` });
      later(wait);
      return;
    }
    await this.start(pod, sandbox, c, attemptOf(latest) + 1, waiting);
  }

  private async start(pod: Pod, sandbox: SandboxStatus, c: Container, attempt: number, waiting: Map<string, Waiting>): Promise<void> {
    try {
      if (!this.images.has(c.image)) {
        await this.runtime.ensureImage(c.image);
        this.images.add(c.image);
      }
    } catch (e) {
      waiting.set(c.name, { reason: isNotFound(e) ? 'ErrImageNeverPull' : 'ImagePullBackOff', message: (e as Error).message });
      return;
    }
    try {
      const id = await this.runtime.createContainer(sandbox.id, this.containerSpec(pod, c, attempt));
      await this.runtime.startContainer(id);
    } catch (e) {
      this.images.delete(c.image);
      this.logger.warn({ pod: pod.metadata.name, container: c.name, err: (e as Error).message }, 'container did not start');
      waiting.set(c.name, { reason: 'CreateContainerError', message: (e as Error).message });
    }
  }

  private containerSpec(pod: Pod, c: Container, attempt: number): ContainerSpec {
    const uid = pod.metadata.uid!;
    const env: Record<string, string> = {
      KERN_POD_NAME: pod.metadata.name,
      KERN_POD_NAMESPACE: pod.metadata.namespace ?? 'default',
      KERN_POD_UID: uid,
    };
    for (const e of c.env ?? []) env[e.name] = e.value ?? '';
    const mounts = (c.volumeMounts ?? []).map((m) => {
      const hostPath = this.volumePath(pod, m.name);
      return { hostPath: m.subPath ? join(hostPath, m.subPath) : hostPath, containerPath: m.mountPath, readOnly: m.readOnly };
    });
    mounts.forEach((m) => mkdirSync(m.hostPath, { recursive: true }));
    const limits = c.resources?.limits ?? {};
    return {
      name: c.name,
      image: c.image,
      command: c.command,
      args: c.args,
      env,
      workingDir: c.workingDir,
      mounts,
      cpuMillis: limits.cpu ? parseCpuMillis(limits.cpu) : undefined,
      memoryBytes: limits.memory ? parseMemoryBytes(limits.memory) : undefined,
      labels: { ...podLabels(pod), [RUNTIME_LABELS.container]: c.name, [RUNTIME_LABELS.attempt]: String(attempt) },
    };
  }

  /** Host directory behind a pod volume (emptyDir and hostPath today). */
  private volumePath(pod: Pod, name: string): string {
    const v = pod.spec?.volumes?.find((x) => x.name === name);
    if (v?.hostPath) return v.hostPath.path;
    return join(this.podsDir, pod.metadata.uid!, 'volumes', name);
  }

  private async pruneExited(byName: Map<string, ContainerInfo[]>): Promise<void> {
    for (const list of byName.values()) {
      const extra = list.filter((c) => c.state === 'exited').slice(KEEP_EXITED_PER_CONTAINER);
      await Promise.all(extra.filter((c) => c !== list[0]).map((c) => this.runtime.removeContainer(c.id)));
    }
  }

  private status(pod: Pod, sandbox: SandboxStatus, byName: Map<string, ContainerInfo[]>, waiting: Map<string, Waiting>, initDone: boolean, initFailed: boolean, hostIP: string): PodStatus {
    const spec = pod.spec!;
    const policy = spec.restartPolicy ?? 'Always';
    const now = new Date().toISOString();
    const statusOf = (c: Container): ContainerStatus => {
      const list = byName.get(c.name) ?? [];
      const latest = list[0];
      const previous = list.find((x) => x !== latest && x.state === 'exited');
      const w = waiting.get(c.name);
      const running = latest?.state === 'running';
      const started = running && this.probes.result(latest.id, 'startup', c) === true;
      const ready = started && this.probes.result(latest.id, 'readiness', c) === true;
      let state: ContainerStatus['state'];
      let lastState: ContainerStatus['lastState'];
      if (w) {
        state = { waiting: w };
        if (latest?.state === 'exited') lastState = terminated(latest);
      } else if (!latest || latest.state === 'created') {
        state = { waiting: { reason: initDone || spec.initContainers?.some((i) => i.name === c.name) ? 'ContainerCreating' : 'PodInitializing' } };
      } else if (running) {
        state = { running: { startedAt: latest.startedAt ?? now } };
        if (previous) lastState = terminated(previous);
      } else {
        state = terminated(latest);
      }
      return {
        name: c.name,
        image: c.image,
        ready,
        started,
        restartCount: latest ? attemptOf(latest) : 0,
        state,
        ...(lastState ? { lastState } : {}),
        ...(latest ? { containerID: `kern://${latest.id}` } : {}),
      };
    };
    const containerStatuses = spec.containers.map(statusOf);
    const initContainerStatuses = (spec.initContainers ?? []).map(statusOf);
    const phase = podPhase(policy, containerStatuses, initDone, initFailed, waiting);
    const allReady = initDone && containerStatuses.every((s) => s.ready);
    const cond = (type: string, ok: boolean, reason?: string): PodCondition => {
      const prev = pod.status?.conditions?.find((x) => x.type === type);
      const status = ok ? 'True' : 'False';
      return { type, status, ...(reason && !ok ? { reason } : {}), lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now };
    };
    return {
      phase,
      conditions: [
        cond('PodScheduled', true),
        cond('Initialized', initDone, 'ContainersNotInitialized'),
        cond('ContainersReady', allReady, 'ContainersNotReady'),
        cond('Ready', allReady && phase === 'Running', 'ContainersNotReady'),
      ],
      hostIP,
      ...(sandbox.ip ? { podIP: sandbox.ip, podIPs: [{ ip: sandbox.ip }] } : {}),
      startTime: pod.status?.startTime ?? now,
      containerStatuses,
      ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    };
  }
}

function terminated(c: ContainerInfo): ContainerStatus['state'] {
  const exitCode = c.exitCode ?? 0;
  return {
    terminated: {
      exitCode,
      reason: c.oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
    },
  };
}

function podPhase(policy: string, statuses: ContainerStatus[], initDone: boolean, initFailed: boolean, waiting: Map<string, Waiting>): PodStatus['phase'] {
  if (initFailed) return 'Failed';
  if (!initDone) return 'Pending';
  const isTerminated = (s: ContainerStatus) => !!s.state.terminated && !waiting.has(s.name);
  if (statuses.some((s) => s.state.running)) return 'Running';
  if (statuses.length > 0 && statuses.every(isTerminated)) {
    const failed = statuses.some((s) => s.state.terminated!.exitCode !== 0);
    if (policy === 'Never') return failed ? 'Failed' : 'Succeeded';
    if (policy === 'OnFailure' && !failed) return 'Succeeded';
    return 'Running';
  }
  // Restarting after a crash counts as Running, as in Kubernetes.
  if (statuses.some((s) => s.restartCount > 0 || s.lastState?.terminated)) return 'Running';
  return 'Pending';
}

/** A pod whose containers are done for good: nothing more to start. */
export function isPodFinished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function podLabels(pod: Pod): Record<string, string> {
  return {
    [RUNTIME_LABELS.managed]: 'true',
    [RUNTIME_LABELS.node]: pod.spec?.nodeName ?? '',
    [RUNTIME_LABELS.podUid]: pod.metadata.uid!,
    [RUNTIME_LABELS.podName]: pod.metadata.name,
    [RUNTIME_LABELS.podNamespace]: pod.metadata.namespace ?? 'default',
  };
}

function attemptOf(c: ContainerInfo): number {
  return Number(c.labels[RUNTIME_LABELS.attempt] ?? 0) || 0;
}

/** Containers by spec name, newest attempt first. */
function groupLatestFirst(list: ContainerInfo[]): Map<string, ContainerInfo[]> {
  const out = new Map<string, ContainerInfo[]>();
  for (const c of list) {
    const name = c.labels[RUNTIME_LABELS.container];
    if (!name) continue;
    const arr = out.get(name) ?? [];
    arr.push(c);
    out.set(name, arr);
  }
  for (const arr of out.values()) arr.sort((a, b) => attemptOf(b) - attemptOf(a));
  return out;
}
