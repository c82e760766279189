import { stat, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import {
  ContainerInfo, ContainerSpec, ExecOptions, ExecSession, LogOptions, Logger, RUNTIME_LABELS, RuntimeCapabilities,
  RuntimeDriver, RuntimeInfo, SandboxSpec, SandboxStatus, errors, silentLogger,
} from '@kern/sdk';
import { prepareAppletDir } from './busybox-applets';
import { RawExecConfig, parseConfig } from './config';
import { containerEnvironment, withApplets } from './container-environment';
import { installShim, launchShim } from './container-shim';
import { ContainerStatus, observeContainer, readContainerPid } from './container-status';
import { startExecProcess } from './exec-session';
import { findSetsid } from './host-tools';
import { openLogStream } from './log-file-stream';
import { currentBootId, readProcessStat, signalGroup } from './process-table';
import { ContainerRecord, SandboxRecord, StateDir, isId, newId } from './state-dir';
import { RAW_EXEC_VERSION } from './version';

export interface RawExecRuntimeDriverOptions extends Partial<Omit<RawExecConfig, 'stateDir'>> {
  /** Where everything is kept; several driver instances may share it. */
  stateDir: string;
  logger?: Logger;
}

/** Host programs the driver needs, found once. */
interface HostTools {
  shimPath: string;
  setsidPath: string;
  appletDir?: string;
}

/** Honest flags: no cgroups, so no limits; the host's network is shared by every container. */
const CAPABILITIES: RuntimeCapabilities = {
  exec: true,
  logs: true,
  memoryLimit: false,
  cpuLimit: false,
  sharedNetworkNamespace: true,
};

/** How long after SIGKILL a container may take to be reported gone. */
const KILL_TIMEOUT_MS = 10_000;
/** How long startContainer waits for the shim to report the main process. */
const START_TIMEOUT_MS = 5_000;
const POLL_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * {@link RuntimeDriver} that runs containers as plain host processes, like
 * Nomad's raw_exec: no isolation, no image, no limits.
 *
 * - A sandbox is a directory (`work/` is the default working directory and
 *   HOME, `tmp/` is TMPDIR); its containers share the host's network, so
 *   they reach each other on 127.0.0.1.
 * - A container is its command started by a small detached shell shim (see
 *   `container-shim.ts`) in its own session and process group; stdout and
 *   stderr go to a log file, the exit code to a file when it ends.
 * - Everything is kept in files under `stateDir` and nothing in memory, so
 *   a driver that restarts (or a second instance) finds the running
 *   containers as they are and the exit codes of those that ended meanwhile.
 */
export class RawExecRuntimeDriver implements RuntimeDriver {
  readonly name = 'raw-exec';
  readonly config: RawExecConfig;
  private readonly state: StateDir;
  private readonly logger: Logger;
  private tools?: Promise<HostTools>;

  constructor(options: RawExecRuntimeDriverOptions) {
    const { logger, stateDir, ...rest } = options;
    const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    this.config = parseConfig(defined, stateDir);
    this.state = new StateDir(this.config.stateDir);
    this.logger = logger ?? silentLogger;
  }

  /**
   * Creates the state directory, the shim and the applet links, and finds
   * setsid; FailedPrecondition naming what is missing. Every method that
   * needs them calls it; call it up front to fail early.
   */
  prepare(): Promise<HostTools> {
    this.tools ??= this.findTools().catch((e: unknown) => {
      this.tools = undefined; // try again on the next call
      throw e;
    });
    return this.tools;
  }

  async info(): Promise<RuntimeInfo> {
    return { name: this.name, version: RAW_EXEC_VERSION, capabilities: { ...CAPABILITIES } };
  }

  /** Images are not used: any non-empty name is accepted and only reported back. */
  async ensureImage(image: string): Promise<void> {
    if (!image) throw errors.invalid('image', 'must not be empty (raw-exec ignores it, but pods must name one)');
  }

  async createSandbox(spec: SandboxSpec): Promise<SandboxStatus> {
    for (const field of ['podUid', 'podName', 'podNamespace'] as const) {
      if (!spec[field]) throw errors.invalid(field, 'must not be empty');
    }
    await this.prepare();
    const record: SandboxRecord = {
      id: newId(),
      podUid: spec.podUid,
      podName: spec.podName,
      podNamespace: spec.podNamespace,
      hostname: spec.hostname || spec.podName,
      labels: {
        ...spec.labels,
        [RUNTIME_LABELS.managed]: 'true',
        [RUNTIME_LABELS.podUid]: spec.podUid,
        [RUNTIME_LABELS.podName]: spec.podName,
        [RUNTIME_LABELS.podNamespace]: spec.podNamespace,
      },
      createdAt: new Date().toISOString(),
    };
    await this.state.createSandbox(record);
    this.logger.debug({ sandbox: record.id, pod: `${spec.podNamespace}/${spec.podName}` }, 'sandbox created');
    return sandboxStatus(record);
  }

  /** Removes the sandbox's containers (killing those still running), then its directory. */
  async removeSandbox(id: string): Promise<void> {
    if (!isId(id)) return;
    for (const container of await this.records()) {
      if (container.sandboxId === id) await this.removeContainer(container.id);
    }
    await this.state.removeSandbox(id);
  }

  async listSandboxes(labels: Record<string, string> = {}): Promise<SandboxStatus[]> {
    const records = await Promise.all((await this.state.sandboxIds()).map((id) => this.state.readSandbox(id)));
    return records
      .filter((r): r is SandboxRecord => r !== undefined && matches(r.labels, labels))
      .map(sandboxStatus);
  }

  async createContainer(sandboxId: string, spec: ContainerSpec): Promise<string> {
    if (!spec.name) throw errors.invalid('name', 'must not be empty');
    if (!spec.image) throw errors.invalid('image', 'must not be empty (raw-exec ignores it, but pods must name one)');
    const argv = [...(spec.command ?? []), ...(spec.args ?? [])];
    if (argv.length === 0 || !argv[0]) {
      throw errors.invalid('command', 'must name the program to run: raw-exec has no image to take an entrypoint from');
    }
    if (spec.workingDir && !isAbsolute(spec.workingDir)) throw errors.invalid('workingDir', 'must be an absolute path');
    (spec.mounts ?? []).forEach((m, i) => {
      if (!m.hostPath || !isAbsolute(m.hostPath)) throw errors.invalid(`mounts[${i}].hostPath`, 'must be an absolute path');
      if (!m.containerPath || resolve(m.containerPath) !== resolve(m.hostPath)) {
        throw errors.invalid(`mounts[${i}].containerPath`,
          `raw-exec cannot mount ${m.hostPath} at ${m.containerPath}: its processes see the host's filesystem as it is; ` +
          'use the host path itself (mountPath equal to the hostPath volume\'s path)');
      }
    });
    const sandbox = await this.state.readSandbox(sandboxId);
    if (!sandbox) throw errors.notFound(`sandbox ${sandboxId}`);
    const tools = await this.prepare();

    const record: ContainerRecord = {
      id: newId(),
      sandboxId,
      name: spec.name,
      image: spec.image,
      argv,
      env: containerEnvironment({
        specEnv: spec.env,
        appletDir: tools.appletDir,
        defaultPath: this.config.defaultPath,
        home: this.state.sandboxWorkDir(sandboxId),
        tmpDir: this.state.sandboxTmpDir(sandboxId),
        hostname: sandbox.hostname,
      }),
      workingDir: spec.workingDir || this.state.sandboxWorkDir(sandboxId),
      labels: {
        ...spec.labels,
        [RUNTIME_LABELS.managed]: 'true',
        [RUNTIME_LABELS.podUid]: sandbox.podUid,
        [RUNTIME_LABELS.podName]: sandbox.podName,
        [RUNTIME_LABELS.podNamespace]: sandbox.podNamespace,
        [RUNTIME_LABELS.container]: spec.name,
        [RUNTIME_LABELS.attempt]: spec.labels?.[RUNTIME_LABELS.attempt] ?? '0',
      },
      createdAt: new Date().toISOString(),
    };
    if (spec.cpuMillis !== undefined || spec.memoryBytes !== undefined) {
      this.logger.debug({ container: spec.name }, 'cpu and memory limits are not enforced by raw-exec');
    }
    await this.state.createContainer(record);
    return record.id;
  }

  /**
   * Starts the shim and returns once it runs, so the container inspects as
   * running. Starting a running container does nothing; one that has run
   * already is FailedPrecondition (the agent creates a new container per
   * attempt).
   */
  async startContainer(id: string): Promise<void> {
    const record = await this.record(id);
    const status = await observeContainer(this.state, id);
    if (status.state === 'running') return;
    if (status.state === 'exited') {
      throw errors.failedPrecondition(`container ${id} has already run (exit code ${status.exitCode}); create a new container to run it again`);
    }
    if (!(await this.state.readSandbox(record.sandboxId))) throw errors.notFound(`sandbox ${record.sandboxId} of container ${id}`);
    if (!(await isDirectory(record.workingDir))) {
      throw errors.failedPrecondition(`container ${id}: working directory ${record.workingDir} does not exist on the host`, { field: 'workingDir' });
    }
    const tools = await this.prepare();
    const dir = this.state.containerDir(id);
    const marker = join(dir, 'started');
    try {
      // Exactly one start wins, also between driver instances.
      await writeFile(marker, '', { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await this.waitWhile(id, (s) => s.state === 'created', START_TIMEOUT_MS);
      return;
    }
    const startedAt = new Date().toISOString();
    let shimPid: number;
    try {
      shimPid = await launchShim({
        shimPath: tools.shimPath, setsidPath: tools.setsidPath, containerDir: dir, argv: record.argv, env: record.env, cwd: record.workingDir,
      });
    } catch (e) {
      await unlink(marker).catch(() => undefined);
      throw e;
    }
    await this.state.writeLaunch(id, { shimPid, shimStartTime: readProcessStat(shimPid)?.startTime, bootId: currentBootId(), startedAt });
    await this.waitForMainProcess(id);
    this.logger.debug({ container: id, shimPid }, 'container started');
  }

  /** SIGTERM to the container's process group, SIGKILL after `graceSeconds`; returns once it has exited. */
  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    if (!(await this.state.readContainer(id))) return;
    if ((await observeContainer(this.state, id)).state !== 'running') return;
    const graceMs = Number.isFinite(graceSeconds) ? Math.max(0, graceSeconds * 1000) : 0;
    await this.signal(id, 'SIGTERM');
    if (graceMs > 0 && await this.waitForExit(id, graceMs)) return;
    const deadline = Date.now() + KILL_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await this.signal(id, 'SIGKILL');
      if (await this.waitForExit(id, 1000)) return;
    }
    throw errors.internal(`container ${id} is still running ${KILL_TIMEOUT_MS / 1000} s after SIGKILL (a process in uninterruptible sleep?)`);
  }

  async removeContainer(id: string): Promise<void> {
    if (!(await this.state.readContainer(id))) return;
    await this.stopContainer(id, 0);
    await this.state.removeContainer(id);
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    const record = await this.record(id);
    return containerInfo(record, await observeContainer(this.state, id));
  }

  async listContainers(labels: Record<string, string> = {}): Promise<ContainerInfo[]> {
    const wanted = (await this.records()).filter((r) => matches(r.labels, labels));
    return Promise.all(wanted.map(async (r) => containerInfo(r, await observeContainer(this.state, r.id))));
  }

  /**
   * stdout and stderr as written, in one stream. `follow` ends once the
   * container has exited (or was removed) and the rest is read.
   * `timestamps` and `sinceSeconds` are not supported (the log has no
   * times) and are ignored.
   */
  async logs(id: string, options: LogOptions = {}): Promise<Readable> {
    await this.record(id);
    try {
      return await openLogStream(this.state.logFile(id), {
        tail: options.tail,
        follow: options.follow,
        finished: async () => !(await this.state.readContainer(id)) || (await observeContainer(this.state, id)).state === 'exited',
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw errors.notFound(`container ${id}`);
      throw e;
    }
  }

  /** Runs `command` on the host with the container's environment and working directory; `tty` is ignored. */
  async exec(id: string, command: string[], options: ExecOptions = {}): Promise<ExecSession> {
    if (!command?.length || !command[0]) throw errors.invalid('command', 'must not be empty');
    const record = await this.record(id);
    if ((await observeContainer(this.state, id)).state !== 'running') {
      throw errors.failedPrecondition(`container ${id} is not running: exec needs a running container`);
    }
    const tools = await this.prepare();
    const env = { ...record.env, ...options.env };
    env.PATH = withApplets(env.PATH ?? this.config.defaultPath, tools.appletDir);
    return startExecProcess(command, { env, cwd: record.workingDir, stdin: options.stdin });
  }

  // ---- internals ----

  private async findTools(): Promise<HostTools> {
    await this.state.init();
    const shimPath = await installShim(this.state.root);
    const appletDir = this.config.busyboxPath === false ? undefined : await prepareAppletDir(this.config.busyboxPath, this.state.root);
    const setsidPath = await findSetsid(appletDir);
    return { shimPath, setsidPath, appletDir };
  }

  private async record(id: string): Promise<ContainerRecord> {
    const record = await this.state.readContainer(id);
    if (!record) throw errors.notFound(`container ${id}`);
    return record;
  }

  private async records(): Promise<ContainerRecord[]> {
    const records = await Promise.all((await this.state.containerIds()).map((id) => this.state.readContainer(id)));
    return records.filter((r): r is ContainerRecord => r !== undefined);
  }

  /**
   * Signals the container's process group. Right after a start the main
   * process may not have called setsid yet (no such group): then it is
   * signalled on its own, which ends it the same way.
   */
  private async signal(id: string, signal: NodeJS.Signals): Promise<void> {
    let pid = await readContainerPid(this.state, id);
    for (let waited = 0; pid === undefined && waited < START_TIMEOUT_MS; waited += POLL_MS) {
      if ((await observeContainer(this.state, id)).state !== 'running') return;
      await sleep(POLL_MS);
      pid = await readContainerPid(this.state, id);
    }
    if (pid === undefined) return;
    if (signalGroup(pid, signal)) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }

  /** Waits up to `ms` for the container to stop running; true when it has. */
  private async waitForExit(id: string, ms: number): Promise<boolean> {
    return this.waitWhile(id, (s) => s.state === 'running', ms);
  }

  /** Polls the container's status while `condition` holds, up to `ms`; true when it stopped holding. */
  private async waitWhile(id: string, condition: (s: ContainerStatus) => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (!condition(await observeContainer(this.state, id))) return true;
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
    }
  }

  /** Until the shim has written the main process's pid and that process leads its own session (or has ended). */
  private async waitForMainProcess(id: string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const pid = await readContainerPid(this.state, id);
      if (pid !== undefined) {
        const stat = readProcessStat(pid);
        if (!stat || stat.state === 'Z' || stat.session === pid) return;
      } else if ((await observeContainer(this.state, id)).state !== 'running') {
        return;
      }
      await sleep(2);
    }
    this.logger.warn({ container: id }, 'container shim did not report the main process in time');
  }
}

function matches(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

function sandboxStatus(record: SandboxRecord): SandboxStatus {
  return { id: record.id, podUid: record.podUid, state: 'ready', labels: record.labels };
}

function containerInfo(record: ContainerRecord, status: ContainerStatus): ContainerInfo {
  const exited = status.state === 'exited';
  return {
    id: record.id,
    sandboxId: record.sandboxId,
    name: record.name,
    image: record.image,
    state: status.state,
    ...(exited ? { exitCode: status.exitCode, oomKilled: false } : {}),
    ...(status.startedAt ? { startedAt: status.startedAt } : {}),
    ...(exited && status.finishedAt ? { finishedAt: status.finishedAt } : {}),
    labels: record.labels,
  };
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
