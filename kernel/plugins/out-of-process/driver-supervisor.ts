import { existsSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  DriverEndpoint, DriverIdentity, DriverServiceClient, KernelError, Logger, checkHealth, closeDriverClient, driverClient, errors, handshake, toKernelError,
} from '@kern/sdk';
import { DriverLog } from './driver-log';
import { DriverCommand, DriverProcess, describeExit } from './driver-process';
import { DEFAULT_RESTART_POLICY, RestartPolicy, restartDelayMs } from './restart-policy';

export interface SupervisorOptions {
  /** How long a started driver has to create its socket and answer the handshake, in ms. Default 8000. */
  startTimeoutMs: number;
  /** Health checks run this often, in ms. Default 5000. */
  healthIntervalMs: number;
  /** Deadline of one health check, in ms. Default 2000. */
  healthTimeoutMs: number;
  /** Failed health checks in a row after which the driver is killed and restarted. Default 2. */
  healthFailureThreshold: number;
  restart: RestartPolicy;
  /** On stop: time between SIGTERM and SIGKILL, in ms. Default 5000. */
  stopGraceMs: number;
}

export const DEFAULT_SUPERVISOR_OPTIONS: SupervisorOptions = {
  startTimeoutMs: 8000,
  healthIntervalMs: 5000,
  healthTimeoutMs: 2000,
  healthFailureThreshold: 2,
  restart: DEFAULT_RESTART_POLICY,
  stopGraceMs: 5000,
};

/** The driver to supervise, as the manifest declares it. */
export interface SupervisedDriver {
  pluginId: string;
  kind: string;
  name: string;
  command: DriverCommand;
  socketPath: string;
  logFile: string;
  kernelVersion: string;
}

/**
 * `starting`: the first start or a restart is under way; `running`: it
 * answered the handshake and takes calls; `restarting`: it died and waits
 * out its back-off; `stopped`: the plugin was deactivated.
 */
export type SupervisorState = 'starting' | 'running' | 'restarting' | 'stopped';

/** What `kern plugin list` can show of a supervised driver. */
export interface SupervisorStatus {
  state: SupervisorState;
  pid?: number;
  /** Restarts since activation. */
  restarts: number;
  /** Failures in a row: the back-off attempt. */
  attempt: number;
  nextRestartAt?: string;
  /** Why the driver last went away, e.g. "was killed by SIGKILL". */
  lastExit?: string;
  /** When the supervisor saw it go away; nextRestartAt is this plus the back-off. */
  lastExitAt?: string;
  /** When the current process started taking calls. */
  runningSince?: string;
  /** What the driver said in its last handshake. */
  driverVersion?: string;
}

const START_FAILED = 'KERN_ERR_PLUGIN_DRIVER_START_FAILED';
const START_TIMEOUT = 'KERN_ERR_PLUGIN_DRIVER_START_TIMEOUT';
const MISMATCH = 'KERN_ERR_PLUGIN_DRIVER_MISMATCH';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one out-of-process driver: starts its command, waits for the socket
 * and the handshake, health-checks it, and restarts it with exponential
 * back-off when it dies or stops answering. It is also the driver proxy's
 * endpoint: while the driver cannot take calls they fail at once with
 * Unavailable saying when the next attempt is. Nothing here throws into the
 * kernel after `start()`: failures are logged and retried.
 */
export class DriverSupervisor implements DriverEndpoint {
  readonly description: string;
  private readonly options: SupervisorOptions;
  private readonly log: DriverLog;
  private state: SupervisorState = 'starting';
  private current?: { process: DriverProcess; client?: DriverServiceClient };
  private identity?: DriverIdentity;
  private restarts = 0;
  private attempt = 0;
  private runningSince?: number;
  private nextRestartAt?: number;
  private lastExit?: string;
  private lastExitAt?: number;
  private restartTimer?: NodeJS.Timeout;
  private healthTimer?: NodeJS.Timeout;
  private healthFailures = 0;
  private healthInFlight = false;
  private stopping?: Promise<void>;
  private readonly stopped: Promise<void>;
  private markStopped!: () => void;

  constructor(private readonly driver: SupervisedDriver, private readonly logger: Logger, options: Partial<SupervisorOptions> = {}) {
    this.options = { ...DEFAULT_SUPERVISOR_OPTIONS, ...options };
    this.description = `${driver.kind} driver "${driver.name}"`;
    this.log = new DriverLog(driver.logFile);
    this.stopped = new Promise((resolve) => { this.markStopped = resolve; });
  }

  /**
   * Starts the driver and waits for its handshake. Throws (with the last
   * lines of its stderr) when it exits first, does not answer within
   * `startTimeoutMs`, or announces another kind or name than the manifest;
   * the process is gone by then. No retry: a driver that cannot start once
   * is a broken install.
   */
  async start(): Promise<DriverIdentity> {
    const identity = await this.launch();
    this.running(identity);
    return identity;
  }

  client(): DriverServiceClient {
    if (this.state === 'running' && this.current?.client) return this.current.client;
    throw this.unavailable();
  }

  unreachable(cause: unknown): KernelError {
    if (this.state !== 'running') return this.unavailable(cause);
    const why = (cause as Partial<grpc.ServiceError>)?.details || (cause as Error)?.message || String(cause);
    return errors.unavailable(`${this.description} did not answer (${why}); if it died it is being restarted`, { cause });
  }

  status(): SupervisorStatus {
    return {
      state: this.state,
      ...(this.current?.process.pid !== undefined ? { pid: this.current.process.pid } : {}),
      restarts: this.restarts,
      attempt: this.attempt,
      ...(this.nextRestartAt !== undefined ? { nextRestartAt: new Date(this.nextRestartAt).toISOString() } : {}),
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
      ...(this.lastExitAt !== undefined ? { lastExitAt: new Date(this.lastExitAt).toISOString() } : {}),
      ...(this.runningSince !== undefined ? { runningSince: new Date(this.runningSince).toISOString() } : {}),
      ...(this.identity ? { driverVersion: this.identity.version } : {}),
    };
  }

  /** Stops the driver (SIGTERM, SIGKILL after the grace period) and supervising it; removes its socket. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopped';
      this.markStopped();
      clearTimeout(this.restartTimer);
      clearInterval(this.healthTimer);
      this.nextRestartAt = undefined;
      this.runningSince = undefined;
      const current = this.current;
      this.current = undefined;
      if (current) {
        // New calls are refused from here (state 'stopped'); the connection
        // stays open until the driver exits, so the calls it is running
        // finish (serveDriver answers them before it ends its streams).
        const exit = await current.process.stop(this.options.stopGraceMs);
        this.log.write('kern', `driver stopped: ${describeExit(exit)}`);
        if (current.client) closeDriverClient(current.client);
      }
      rmSync(this.driver.socketPath, { force: true });
      await this.log.close();
    })();
    return this.stopping;
  }

  private unavailable(cause?: unknown): KernelError {
    const o = cause === undefined ? {} : { cause };
    switch (this.state) {
      case 'restarting': {
        const wait = Math.max(0, (this.nextRestartAt ?? Date.now()) - Date.now());
        return errors.unavailable(`${this.description} is restarting (attempt ${this.attempt}, next in ${(wait / 1000).toFixed(1)}s)`, o);
      }
      case 'starting':
        return errors.unavailable(this.attempt > 0
          ? `${this.description} is restarting (attempt ${this.attempt}, starting now)`
          : `${this.description} is starting`, o);
      case 'stopped':
        return errors.unavailable(`${this.description} is stopped: plugin ${this.driver.pluginId} is not active`, o);
      default:
        return errors.unavailable(`${this.description} is not reachable`, o);
    }
  }

  /** Spawns the command and waits for socket and handshake; on failure the process is killed before this throws. */
  private async launch(): Promise<DriverIdentity> {
    const { socketPath } = this.driver;
    rmSync(socketPath, { force: true }); // so that the file appearing means this process listens
    const proc = new DriverProcess(this.driver.command, this.logger, this.log);
    const current: { process: DriverProcess; client?: DriverServiceClient } = { process: proc };
    this.current = current;
    this.log.write('kern', `driver started: pid ${proc.pid ?? '(none)'}, ${[this.driver.command.file, ...this.driver.command.args].join(' ')}`);
    const deadline = Date.now() + this.options.startTimeoutMs;
    let settled = false;

    const connect = async (): Promise<DriverIdentity> => {
      while (!existsSync(socketPath)) {
        if (settled) throw errors.internal('abandoned');
        await sleep(20);
      }
      current.client = driverClient(socketPath);
      return handshake(current.client, {
        kernelVersion: this.driver.kernelVersion, timeoutMs: Math.max(1, deadline - Date.now()), description: this.description,
      });
    };
    const exitedFirst = proc.exited.then((exit): never => {
      const why = exit.error ? describeExit(exit) : `${describeExit(exit)} before answering the handshake${this.stderrOf(proc)}`;
      throw new KernelError('FailedPrecondition', `${this.whose()} ${why}`, { code: START_FAILED });
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KernelError('DeadlineExceeded',
        `${this.whose()} did not answer the handshake on ${socketPath} within ${this.options.startTimeoutMs} ms${this.stderrOf(proc)}`,
        { code: START_TIMEOUT })), this.options.startTimeoutMs);
    });
    const stopped = this.stopped.then((): never => { throw errors.unavailable(`${this.description} was stopped while starting`); });

    try {
      const identity = await Promise.race([connect(), exitedFirst, timedOut, stopped]);
      if (identity.kind !== this.driver.kind || identity.name !== this.driver.name) {
        throw new KernelError('FailedPrecondition',
          `${this.whose()} announced ${identity.kind} driver "${identity.name}" in its handshake, but the manifest provides ${this.description} (kern.provides): make the two agree`,
          { field: 'kern.provides', code: MISMATCH });
      }
      return identity;
    } catch (e) {
      if (current.client) closeDriverClient(current.client);
      proc.kill();
      await proc.exited;
      if (this.current === current) this.current = undefined;
      const err = toKernelError(e);
      this.log.write('kern', `driver did not start: ${err.message}`);
      throw err;
    } finally {
      settled = true;
      clearTimeout(timer);
      exitedFirst.catch(() => undefined);
      stopped.catch(() => undefined);
    }
  }

  private running(identity: DriverIdentity): void {
    const current = this.current!;
    this.identity = identity;
    this.state = 'running';
    this.runningSince = Date.now();
    this.nextRestartAt = undefined;
    this.healthFailures = 0;
    current.process.exited.then((exit) => {
      if (this.current === current) this.crashed(describeExit(exit));
    });
    this.healthTimer = setInterval(() => void this.checkHealth(), this.options.healthIntervalMs);
    this.healthTimer.unref();
  }

  /** The driver went away: fail calls fast, restart after the back-off. */
  private crashed(why: string): void {
    if (this.state === 'stopped') return;
    clearInterval(this.healthTimer);
    const current = this.current;
    this.current = undefined;
    if (current?.client) closeDriverClient(current.client);
    current?.process.kill();
    this.lastExit = why;
    if (this.runningSince !== undefined && Date.now() - this.runningSince >= this.options.restart.resetAfterMs) this.attempt = 0;
    this.runningSince = undefined;
    this.attempt++;
    const delay = restartDelayMs(this.attempt, this.options.restart);
    this.state = 'restarting';
    this.lastExitAt = Date.now();
    this.nextRestartAt = this.lastExitAt + delay;
    this.log.write('kern', `driver ${why}; restart attempt ${this.attempt} in ${delay} ms`);
    this.logger.warn({ attempt: this.attempt, delayMs: delay, why }, `${this.description} ${why}: restarting it in ${delay} ms (attempt ${this.attempt})`);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.state !== 'restarting') return;
    this.state = 'starting';
    this.nextRestartAt = undefined;
    this.restarts++;
    try {
      const identity = await this.launch();
      if (this.state !== 'starting') return; // stopped meanwhile
      this.running(identity);
      this.log.write('kern', `driver restarted: pid ${this.current?.process.pid}`);
      this.logger.info({ pid: this.current?.process.pid, restarts: this.restarts }, `${this.description} is back after a restart`);
    } catch (e) {
      if (this.state === 'starting') this.crashed(`failed to restart: ${(e as Error).message}`);
    }
  }

  private async checkHealth(): Promise<void> {
    const current = this.current;
    if (this.state !== 'running' || !current?.client || this.healthInFlight) return;
    this.healthInFlight = true;
    const problem = await checkHealth(current.client, this.options.healthTimeoutMs).finally(() => { this.healthInFlight = false; });
    if (this.current !== current || this.state !== 'running') return;
    if (!problem) {
      this.healthFailures = 0;
      return;
    }
    this.healthFailures++;
    this.logger.warn({ failures: this.healthFailures, problem }, `${this.description} failed a health check`);
    if (this.healthFailures >= this.options.healthFailureThreshold) {
      this.crashed(`failed ${this.healthFailures} health checks in a row (${problem})`);
    }
  }

  private whose(): string {
    return `${this.description} of plugin ${this.driver.pluginId}`;
  }

  private stderrOf(proc: DriverProcess): string {
    const tail = proc.stderrTail();
    if (tail.length === 0) return `; it wrote nothing to stderr (its output is in ${this.driver.logFile})`;
    return `; the last lines of its stderr:\n  ${tail.join('\n  ')}`;
  }
}
