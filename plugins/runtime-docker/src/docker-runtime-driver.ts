import { Agent } from 'node:http';
import { inspect } from 'node:util';
import { PassThrough, Readable, Writable } from 'node:stream';
import Docker from 'dockerode';
import {
  ContainerInfo, ContainerSpec, ExecOptions, ExecSession, KernelError, LogOptions, Logger, RUNTIME_LABELS,
  RuntimeCapabilities, RuntimeDriver, RuntimeEvent, RuntimeInfo, SandboxSpec, SandboxStatus, errors, isKernelError, silentLogger,
  Disposable, onJsonLines, toDisposable,
} from '@kern/sdk';
import { DockerRuntimeConfig, parseConfig } from './config';
import { buildLocalImage, importRootfsImage, isLocallyBuildable } from './local-images';

/** Labels of this driver on top of {@link RUNTIME_LABELS}. */
export const DOCKER_LABELS = {
  /** `sandbox` on pause containers, `container` on app containers. */
  role: 'kern.io/runtime-role',
  /** On app containers: the id of the sandbox whose namespaces they join. */
  sandboxId: 'kern.io/sandbox-id',
} as const;

export interface DockerRuntimeDriverOptions extends Partial<DockerRuntimeConfig> {
  logger?: Logger;
  /** A ready client (tests); by default one on `socketPath`. */
  docker?: Docker;
}

interface PodIdentity { podUid: string; podName: string; podNamespace: string }

/** Docker's "never" timestamp. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * {@link RuntimeDriver} on the Docker engine (API 1.41+).
 *
 * - A sandbox is a pause container (`pauseImage`) that owns the pod's
 *   network and IPC namespaces; app containers join them with
 *   `NetworkMode`/`IpcMode` `container:<sandbox id>`.
 * - Everything it creates carries {@link RUNTIME_LABELS} plus
 *   {@link DOCKER_LABELS}, so a new driver instance (after an agent restart)
 *   finds it with `listSandboxes`/`listContainers`; nothing lives only in
 *   memory except a cache of sandbox → pod identity.
 * - Create and start are one API call each; image presence is not checked
 *   up front: a create that fails with "no such image" builds the image when
 *   it is one of the local busybox images and retries once.
 */
export class DockerRuntimeDriver implements RuntimeDriver {
  readonly name = 'docker';
  readonly docker: Docker;
  readonly config: DockerRuntimeConfig;
  private readonly logger: Logger;
  /** Sandbox id → the pod it belongs to, so createContainer needs no inspect. */
  private readonly sandboxes = new Map<string, PodIdentity>();
  /** In-flight image builds, so concurrent first uses build once. */
  private readonly builds = new Map<string, Promise<void>>();
  private infoCache?: Promise<RuntimeInfo>;
  /** Keep-alive connections to the engine, owned by this driver (absent when a client was passed in). */
  private readonly agent?: Agent;

  constructor(options: DockerRuntimeDriverOptions = {}) {
    const { logger, docker, ...raw } = options;
    const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
    this.config = parseConfig(defined);
    this.logger = logger ?? silentLogger;
    if (docker) {
      this.docker = docker;
    } else {
      // Reused connections keep create + start at two round trips, no connects.
      this.agent = new Agent({ keepAlive: true });
      // docker-modem formats its request options with util.inspect on every
      // call (even with debug off); an agent full of sockets costs ms each time.
      Object.defineProperty(this.agent, inspect.custom, { value: () => 'Agent(kern runtime-docker)' });
      this.docker = new Docker({ socketPath: this.config.socketPath, agent: this.agent } as Docker.DockerOptions);
    }
  }

  /** Closes idle and open connections to the engine (follow streams end). Containers keep running. */
  close(): void {
    this.agent?.destroy();
  }

  async info(): Promise<RuntimeInfo> {
    this.infoCache ??= this.docker.info().then(
      (info: Record<string, unknown>): RuntimeInfo => {
        const capabilities: RuntimeCapabilities = {
          exec: true,
          logs: true,
          memoryLimit: info.MemoryLimit !== false,
          cpuLimit: info.CpuCfsQuota !== false,
          sharedNetworkNamespace: true,
        };
        return { name: 'docker', version: String(info.ServerVersion ?? 'unknown'), capabilities };
      },
      (e: unknown) => {
        this.infoCache = undefined;
        throw this.mapError(e, 'docker engine');
      },
    );
    return this.infoCache;
  }

  async ensureImage(image: string): Promise<void> {
    if (!image) throw errors.invalid('image', 'must not be empty');
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (e) {
      if (statusOf(e) !== 404) throw this.mapError(e, `image ${image}`);
    }
    await this.buildOrExplain(image);
  }

  /**
   * `docker import` of a root filesystem tarball, streamed to the engine as
   * it arrives. A failing `rootfsTar` (an upload that was cut) makes
   * docker-modem destroy the engine request, so the engine abandons the
   * import rather than keep a partial image.
   */
  async importImage(name: string, rootfsTar: Readable): Promise<void> {
    if (!name) throw errors.invalid('name', 'must not be empty (an image name such as my/app:1)');
    this.logger.info({ image: name }, 'importing image from a root filesystem tarball');
    await importRootfsImage(this.docker, rootfsTar, name);
  }

  async createSandbox(spec: SandboxSpec): Promise<SandboxStatus> {
    for (const field of ['podUid', 'podName', 'podNamespace'] as const) {
      if (!spec[field]) throw errors.invalid(field, 'must not be empty');
    }
    const pod: PodIdentity = { podUid: spec.podUid, podName: spec.podName, podNamespace: spec.podNamespace };
    const labels: Record<string, string> = {
      ...spec.labels,
      [RUNTIME_LABELS.managed]: 'true',
      [RUNTIME_LABELS.podUid]: spec.podUid,
      [RUNTIME_LABELS.podName]: spec.podName,
      [RUNTIME_LABELS.podNamespace]: spec.podNamespace,
      [DOCKER_LABELS.role]: 'sandbox',
    };
    const attempt = spec.labels?.[RUNTIME_LABELS.attempt] ?? '0';
    const options: Docker.ContainerCreateOptions = {
      name: dockerName(['kern', 'POD', spec.podName, spec.podNamespace, spec.podUid, attempt]),
      Image: this.config.pauseImage,
      Hostname: hostnameOf(spec.hostname ?? spec.podName),
      Labels: labels,
      HostConfig: {
        NetworkMode: this.config.sandboxNetworkMode,
        // App containers join this IPC namespace; Docker's default is private.
        IpcMode: 'shareable',
        RestartPolicy: { Name: 'no' },
      },
    };
    const container = await this.create(options, 'sandbox', spec.podName);
    try {
      await container.start();
      const status = sandboxStatus(await container.inspect());
      this.sandboxes.set(status.id, pod);
      return status;
    } catch (e) {
      await container.remove({ force: true }).catch(() => undefined);
      throw this.mapError(e, `sandbox of pod ${spec.podNamespace}/${spec.podName}`);
    }
  }

  async removeSandbox(id: string): Promise<void> {
    this.sandboxes.delete(id);
    await this.removeQuietly(id);
  }

  async listSandboxes(labels: Record<string, string> = {}): Promise<SandboxStatus[]> {
    const items = await this.list({ ...labels, [DOCKER_LABELS.role]: 'sandbox' });
    const statuses = await Promise.all(items.map(async (item) => {
      const itemLabels = item.Labels ?? {};
      this.sandboxes.set(item.Id, podIdentityOf(itemLabels));
      if (item.State !== 'running') {
        return { id: item.Id, podUid: itemLabels[RUNTIME_LABELS.podUid] ?? '', state: 'notready', labels: itemLabels } as SandboxStatus;
      }
      // The list reply has no pid, and the network driver needs the netns path.
      try {
        return sandboxStatus(await this.docker.getContainer(item.Id).inspect());
      } catch (e) {
        if (statusOf(e) === 404) return undefined; // removed meanwhile
        throw this.mapError(e, `sandbox ${item.Id}`);
      }
    }));
    return statuses.filter((s): s is SandboxStatus => s !== undefined);
  }

  async createContainer(sandboxId: string, spec: ContainerSpec): Promise<string> {
    if (!sandboxId) throw errors.invalid('sandboxId', 'must not be empty');
    if (!spec.name) throw errors.invalid('name', 'must not be empty');
    if (!spec.image) throw errors.invalid('image', 'must not be empty');
    if (spec.cpuMillis !== undefined && !(Number.isInteger(spec.cpuMillis) && spec.cpuMillis > 0)) {
      throw errors.invalid('cpuMillis', 'must be a positive integer (millicores)');
    }
    if (spec.memoryBytes !== undefined && !(Number.isInteger(spec.memoryBytes) && spec.memoryBytes >= 6 * 1024 * 1024)) {
      throw errors.invalid('memoryBytes', 'must be an integer of at least 6 MiB (Docker\'s minimum)');
    }
    const pod = this.sandboxes.get(sandboxId) ?? await this.podOfSandbox(sandboxId);
    const attempt = spec.labels?.[RUNTIME_LABELS.attempt] ?? '0';
    const labels: Record<string, string> = {
      ...spec.labels,
      [RUNTIME_LABELS.managed]: 'true',
      [RUNTIME_LABELS.podUid]: pod.podUid,
      [RUNTIME_LABELS.podName]: pod.podName,
      [RUNTIME_LABELS.podNamespace]: pod.podNamespace,
      [RUNTIME_LABELS.container]: spec.name,
      [RUNTIME_LABELS.attempt]: attempt,
      [DOCKER_LABELS.role]: 'container',
      [DOCKER_LABELS.sandboxId]: sandboxId,
    };
    const hostConfig: Docker.HostConfig = {
      NetworkMode: `container:${sandboxId}`,
      IpcMode: `container:${sandboxId}`,
      RestartPolicy: { Name: 'no' },
    };
    if (spec.mounts?.length) {
      hostConfig.Binds = spec.mounts.map((m, i) => {
        if (!m.hostPath?.startsWith('/')) throw errors.invalid(`mounts[${i}].hostPath`, 'must be an absolute path');
        if (!m.containerPath?.startsWith('/')) throw errors.invalid(`mounts[${i}].containerPath`, 'must be an absolute path');
        return `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`;
      });
    }
    if (spec.memoryBytes !== undefined) {
      hostConfig.Memory = spec.memoryBytes;
      // No swap on top of the limit, so exceeding it is an OOM kill, not a slowdown.
      hostConfig.MemorySwap = spec.memoryBytes;
    }
    if (spec.cpuMillis !== undefined) hostConfig.NanoCpus = spec.cpuMillis * 1_000_000;
    const options: Docker.ContainerCreateOptions = {
      name: dockerName(['kern', spec.name, pod.podName, pod.podNamespace, pod.podUid, attempt]),
      Image: spec.image,
      Labels: labels,
      Env: spec.env ? Object.entries(spec.env).map(([k, v]) => `${k}=${v}`) : undefined,
      WorkingDir: spec.workingDir || undefined,
      HostConfig: hostConfig,
    };
    // Kubernetes semantics: `command` replaces the image's ENTRYPOINT (and with
    // it the image's CMD), `args` replaces the CMD.
    if (spec.command?.length) options.Entrypoint = spec.command;
    if (spec.args?.length) options.Cmd = spec.args;
    const container = await this.create(options, 'container', spec.name);
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      const status = statusOf(e);
      const message = messageOf(e);
      if (status === 304) return; // already running
      // The sandbox is checked when the container starts, not when it is created.
      const missing = /no such container: (\S+)/i.exec(message)?.[1];
      if (status === 404 && missing && !id.startsWith(missing) && !missing.startsWith(id)) {
        throw errors.notFound(`sandbox ${missing} of container ${id}`, { cause: e });
      }
      if (status === 409 && /non running container/i.test(message)) {
        throw errors.failedPrecondition(`container ${id}: its sandbox is not running; recreate the sandbox`, { cause: e });
      }
      throw this.mapError(e, `container ${id}`);
    }
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const t = Math.max(0, Math.ceil(Number.isFinite(graceSeconds) ? graceSeconds : 0));
    try {
      // The engine sends the image's stop signal (SIGTERM), waits t seconds, then SIGKILL.
      await this.docker.getContainer(id).stop({ t });
    } catch (e) {
      const status = statusOf(e);
      if (status === 304 || status === 404) return;
      throw this.mapError(e, `container ${id}`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    await this.removeQuietly(id);
  }

  /**
   * Container starts, deaths and OOM kills of Kern's containers, from the
   * engine's event stream; reconnects after a second when the stream breaks.
   */
  watchEvents(onEvent: (e: RuntimeEvent) => void): Disposable {
    let stopped = false;
    let current: NodeJS.ReadableStream | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      try {
        const stream = (await this.docker.getEvents({
          filters: { type: ['container'], event: ['start', 'die', 'oom'], label: [`${RUNTIME_LABELS.managed}=true`] },
        })) as NodeJS.ReadableStream;
        if (stopped) { (stream as Readable).destroy?.(); return; }
        current = stream;
        onJsonLines(stream, (value) => {
          const ev = value as { Action?: string; status?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
          const type = (ev.Action ?? ev.status) as RuntimeEvent['type'];
          const containerId = ev.Actor?.ID ?? ev.id;
          if (containerId && (type === 'start' || type === 'die' || type === 'oom')) onEvent({ containerId, type, labels: ev.Actor?.Attributes ?? {} });
        }, (line) => this.logger.debug({ line }, 'unreadable docker event'));
        const again = () => { if (!stopped) retry = setTimeout(() => void connect(), 1000); };
        stream.on('end', again);
        stream.on('error', again);
      } catch (e) {
        this.logger.debug({ err: (e as Error).message }, 'docker events unavailable; retrying');
        if (!stopped) retry = setTimeout(() => void connect(), 1000);
      }
    };
    void connect();
    return toDisposable(() => {
      stopped = true;
      clearTimeout(retry);
      (current as Readable | undefined)?.destroy?.();
    });
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    try {
      return containerInfo(await this.docker.getContainer(id).inspect());
    } catch (e) {
      throw this.mapError(e, `container ${id}`);
    }
  }

  async listContainers(labels: Record<string, string> = {}): Promise<ContainerInfo[]> {
    const items = await this.list({ ...labels, [DOCKER_LABELS.role]: 'container' });
    return items.map((item) => {
      const itemLabels = item.Labels ?? {};
      const state = stateOf(item.State);
      const exit = /^Exited \((-?\d+)\)/.exec(item.Status ?? '');
      return {
        id: item.Id,
        sandboxId: itemLabels[DOCKER_LABELS.sandboxId],
        name: itemLabels[RUNTIME_LABELS.container] ?? item.Names?.[0]?.replace(/^\//, '') ?? item.Id,
        image: item.Image,
        state,
        ...(state === 'exited' && exit ? { exitCode: Number(exit[1]) } : {}),
        labels: itemLabels,
      };
    });
  }

  async logs(id: string, options: LogOptions = {}): Promise<Readable> {
    const query = {
      stdout: true,
      stderr: true,
      follow: options.follow ?? false,
      timestamps: options.timestamps ?? false,
      ...(options.tail !== undefined ? { tail: Math.max(0, Math.floor(options.tail)) } : {}),
      ...(options.sinceSeconds !== undefined
        ? { since: Math.floor(Date.now() / 1000) - Math.max(0, Math.floor(options.sinceSeconds)) } : {}),
    };
    let source: Readable;
    try {
      const reply = await (this.docker.getContainer(id).logs as (o: object) => Promise<Buffer | NodeJS.ReadableStream>)(query);
      source = Buffer.isBuffer(reply) ? Readable.from([reply]) : (reply as Readable);
    } catch (e) {
      throw this.mapError(e, `container ${id}`);
    }
    const out = new PassThrough();
    out.setEncoding('utf8');
    // Both streams go to one text stream, in the order the engine sent them.
    this.docker.modem.demuxStream(source, out, out);
    source.once('end', () => out.end());
    source.once('error', (e) => out.destroy(this.mapError(e, `logs of container ${id}`)));
    out.once('close', () => source.destroy());
    return out;
  }

  async exec(id: string, command: string[], options: ExecOptions = {}): Promise<ExecSession> {
    if (!command?.length) throw errors.invalid('command', 'must not be empty');
    const withStdin = options.stdin !== undefined;
    const tty = options.tty ?? false;
    let exec: Docker.Exec;
    let socket: NodeJS.ReadWriteStream;
    try {
      exec = await this.docker.getContainer(id).exec({
        Cmd: command,
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
        Env: options.env ? Object.entries(options.env).map(([k, v]) => `${k}=${v}`) : undefined,
      });
      socket = await exec.start({ hijack: true, stdin: withStdin, Detach: false, Tty: tty });
    } catch (e) {
      if (statusOf(e) === 409) {
        throw errors.failedPrecondition(`container ${id} is not running: exec needs a running container`, { cause: e });
      }
      throw this.mapError(e, `container ${id}`);
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (tty) socket.pipe(stdout);
    else this.docker.modem.demuxStream(socket, stdout, stderr);

    if (options.stdin) {
      // Half-close on EOF: the engine then closes the process's stdin.
      options.stdin.pipe(socket as unknown as Writable, { end: true });
    }

    const exitCode = new Promise<number>((resolve, reject) => {
      let settled = false;
      const done = (error?: Error) => {
        if (settled) return;
        settled = true;
        if (!stdout.writableEnded) stdout.end();
        if (!stderr.writableEnded) stderr.end();
        if (error) {
          reject(this.mapError(error, `exec in container ${id}`));
          return;
        }
        this.execExitCode(exec).then(resolve, reject);
      };
      socket.once('end', () => done());
      socket.once('close', () => done());
      socket.once('error', (e: Error) => done(e));
    });
    exitCode.catch(() => undefined); // the caller may never await it
    return { stdout, stderr, exitCode };
  }

  // ---- internals ----

  /** Creates a container; builds a missing local image once and retries. */
  private async create(
    options: Docker.ContainerCreateOptions, what: 'sandbox' | 'container', name: string,
  ): Promise<Docker.Container> {
    const image = options.Image ?? '';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.docker.createContainer(options);
      } catch (e) {
        const status = statusOf(e);
        const message = messageOf(e);
        if (status === 404 && /no such image/i.test(message)) {
          if (attempt > 0) throw errors.notFound(`image ${image}`, { field: 'image', cause: e });
          await this.buildOrExplain(image);
          continue;
        }
        if (status === 409) {
          throw errors.alreadyExists(`${what} ${name} (docker name ${options.name})`, { cause: e });
        }
        throw this.mapError(e, `${what} ${name}`);
      }
    }
  }

  /** Builds `kern/pause:*` / `kern/busybox:*`; NotFound with the import hint for anything else. */
  private async buildOrExplain(image: string): Promise<void> {
    if (!isLocallyBuildable(image)) {
      throw new KernelError('NotFound',
        `image ${image} not found in the local docker engine and no registry is used: ` +
        `import a root filesystem tarball with \`kern image import <rootfs.tar> ${image}\``,
        { field: 'image', code: 'KERN_ERR_RUNTIME_IMAGE_NOT_FOUND' });
    }
    let build = this.builds.get(image);
    if (!build) {
      this.logger.info({ image }, 'building local image from busybox-static');
      build = buildLocalImage(this.docker, image, { busyboxPath: this.config.busyboxPath })
        .finally(() => this.builds.delete(image));
      this.builds.set(image, build);
    }
    await build;
  }

  private async podOfSandbox(sandboxId: string): Promise<PodIdentity> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(sandboxId).inspect();
    } catch (e) {
      throw this.mapError(e, `sandbox ${sandboxId}`);
    }
    const labels = info.Config.Labels ?? {};
    if (labels[DOCKER_LABELS.role] !== 'sandbox') {
      throw errors.invalid('sandboxId', `${sandboxId} is not a sandbox made by the docker runtime`);
    }
    const pod = podIdentityOf(labels);
    this.sandboxes.set(info.Id, pod);
    return pod;
  }

  private async list(labels: Record<string, string>): Promise<Docker.ContainerInfo[]> {
    const filter = Object.entries({ ...labels, [RUNTIME_LABELS.managed]: 'true' }).map(([k, v]) => `${k}=${v}`);
    try {
      return await this.docker.listContainers({ all: true, filters: { label: filter } });
    } catch (e) {
      throw this.mapError(e, 'containers');
    }
  }

  private async removeQuietly(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const status = statusOf(e);
      if (status === 404) return;
      if (status === 409 && /already in progress/i.test(messageOf(e))) return;
      throw this.mapError(e, `container ${id}`);
    }
  }

  /**
   * The engine records the exit code before it closes the exec's streams,
   * so one inspect after the stream ends normally suffices; the short retry
   * only covers an engine that reports the exec still running.
   */
  private async execExitCode(exec: Docker.Exec): Promise<number> {
    for (let i = 0; ; i++) {
      const info = await exec.inspect().catch((e: unknown) => { throw this.mapError(e, `exec ${exec.id}`); });
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
      if (i >= 100) throw errors.internal(`exec ${exec.id}: stream ended but the engine reports it still running`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private mapError(e: unknown, what: string): KernelError {
    if (isKernelError(e)) return e;
    const status = statusOf(e);
    const message = messageOf(e);
    const code = (e as { code?: string } | undefined)?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE') {
      return errors.unavailable(
        `docker engine not reachable at ${this.config.socketPath} (${code}): start dockerd ` +
        `(\`nohup dockerd >/var/log/kern-dockerd.log 2>&1 &\`) or set plugins.runtime-docker.socketPath`, { cause: e });
    }
    switch (status) {
      case 404: return errors.notFound(what, { cause: e });
      case 409: return errors.conflict(`${what}: ${message}`, { cause: e });
      case 400: return new KernelError('Invalid', `${what}: ${message}`, { cause: e });
      case 500:
      case 503: return errors.unavailable(`${what}: docker engine error: ${message}`, { cause: e });
      default: return errors.internal(`${what}: ${message}`, { cause: e });
    }
  }
}

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | undefined)?.statusCode;
}

function messageOf(e: unknown): string {
  const json = (e as { json?: { message?: string } } | undefined)?.json;
  return json?.message ?? (e instanceof Error ? e.message : String(e));
}

function podIdentityOf(labels: Record<string, string>): PodIdentity {
  return {
    podUid: labels[RUNTIME_LABELS.podUid] ?? '',
    podName: labels[RUNTIME_LABELS.podName] ?? '',
    podNamespace: labels[RUNTIME_LABELS.podNamespace] ?? '',
  };
}

function stateOf(status: string | undefined): ContainerInfo['state'] {
  switch (status) {
    case 'created': return 'created';
    case 'running':
    case 'paused':
    case 'restarting': return 'running';
    case 'exited':
    case 'dead': return 'exited';
    default: return 'unknown';
  }
}

function timeOf(value: string | undefined): string | undefined {
  return value && value !== ZERO_TIME ? value : undefined;
}

function sandboxStatus(info: Docker.ContainerInspectInfo): SandboxStatus {
  const labels = info.Config.Labels ?? {};
  const running = info.State.Running && info.State.Pid > 0;
  const networks = Object.values(info.NetworkSettings?.Networks ?? {});
  const ip = networks.map((n) => n.IPAddress).find((a) => !!a);
  return {
    id: info.Id,
    podUid: labels[RUNTIME_LABELS.podUid] ?? '',
    state: running ? 'ready' : 'notready',
    ...(running ? { netnsPath: `/proc/${info.State.Pid}/ns/net` } : {}),
    ...(ip ? { ip } : {}),
    labels,
  };
}

function containerInfo(info: Docker.ContainerInspectInfo): ContainerInfo {
  const labels = info.Config.Labels ?? {};
  const state = stateOf(info.State.Status);
  const networkMode = info.HostConfig?.NetworkMode ?? '';
  return {
    id: info.Id,
    sandboxId: labels[DOCKER_LABELS.sandboxId]
      ?? (networkMode.startsWith('container:') ? networkMode.slice('container:'.length) : undefined),
    name: labels[RUNTIME_LABELS.container] ?? info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    state,
    ...(state === 'exited' ? { exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled } : {}),
    ...(timeOf(info.State.StartedAt) ? { startedAt: timeOf(info.State.StartedAt) } : {}),
    ...(state === 'exited' && timeOf(info.State.FinishedAt) ? { finishedAt: timeOf(info.State.FinishedAt) } : {}),
    labels,
  };
}

/** Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; parts are joined with `_` like the kubelet's. */
function dockerName(parts: string[]): string {
  return parts.map((p) => p.replace(/[^a-zA-Z0-9.-]/g, '-')).join('_');
}

function hostnameOf(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+/, '').slice(0, 63).replace(/-+$/, '');
  return cleaned || 'pod';
}

