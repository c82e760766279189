import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { errors } from '@kern/sdk';
import { YamlDocument, YamlInputError, parseYamlDocuments } from '../yaml-text';
import { MAX_SOCKET_PATH_BYTES, fitsSocketPath } from './socket-path';

/** Kernel configuration. Precedence: defaults < config file < environment < flags. */
export interface KernelConfig {
  /** Where state, logs and plugin data live. Default: `$KERN_HOME/data`. */
  dataDir: string;
  /** Where the CLI finds the server address and token. Default: `$KERN_HOME` or `~/.kern`. */
  kernHome: string;
  /**
   * HTTP API. Default: 127.0.0.1:7070, and the Unix socket
   * `<dataDir>/kern.sock` (mode 0600) that local clients such as the CLI
   * use (file permissions guard it besides the token). `socket: ""` turns
   * the socket off.
   * `idlePollMicros`: after answering a request that came soon after the
   * one before, the event loop polls for the next one for up to this long
   * instead of sleeping (see kernel/api/http/idle-poller.ts). It saves
   * waking a halted vCPU per request under load, for a little CPU; the window
   * adapts, and falls to nothing when requests come further apart. 0 turns
   * it off; at most 2000. Default: 500.
   */
  http: { host: string; port: number; socket?: string; idlePollMicros: number };
  /** gRPC API. Default: 127.0.0.1:7071 (port 0 = any free port). */
  grpc: { host: string; port: number };
  /** trace | debug | info | warn | error. Default: info. */
  logLevel: string;
  /** The store driver's name. Default: sqlite. */
  store: string;
  /** Per-plugin config sections, by plugin id. Default: {}. */
  plugins: Record<string, Record<string, unknown>>;
  /** Plugin ids not to activate. Default: []. */
  disabledPlugins: string[];
  /** Extra directories to scan for plugin packages. Default: `<dataDir>/plugins-installed`. */
  pluginDirs: string[];
  /** Largest API request body in bytes. Default: 3 MiB (as Kubernetes). */
  bodyLimitBytes: number;
  /** Write the server address and admin token to `$KERN_HOME/config.json`. Default: true. */
  writeClientConfig: boolean;
  /** The node agent of this process. */
  agent: AgentConfig;
  /** The scheduler and node lifecycle. */
  scheduler: SchedulerConfig;
}

export interface SchedulerConfig {
  /** Seconds a node with an expired lease keeps its pods before they are marked Failed (NodeLost). Default: 60. */
  nodeLossGraceSeconds?: number;
  /** Share of nodes to find feasible before scoring in clusters of 100+ nodes; 0 = 100 nodes (kube-scheduler's minimum). Default: 0. */
  percentageOfNodesToScore?: number;
}

export interface AgentConfig {
  /** Run a node agent in this process (`kern up`). Default: true. */
  enabled: boolean;
  /** Node name. Default: the host name. */
  nodeName?: string;
  /** Extra node labels. Default: none. */
  labels?: Record<string, string>;
  /** Sets the `topology.kubernetes.io/zone` label. Default: none. */
  zone?: string;
  /** Overrides of the capacity read off the machine, e.g. `{cpu: '4', memory: '8Gi'}`. Default: none. */
  capacity?: Record<string, string>;
  /** Held back from pods, e.g. `{cpu: '100m', memory: '256Mi'}`. Default: none. */
  reserved?: Record<string, string>;
  /** Runtime driver name. Default: the first active one. */
  runtime?: string;
  /** First crash-loop back-off in ms (doubles to 5 min). Default: 10000. */
  backoffInitialMs?: number;
}

export type ConfigOverrides = Partial<Omit<KernelConfig, 'http' | 'grpc' | 'agent' | 'scheduler'>> & {
  agent?: Partial<AgentConfig>;
  scheduler?: Partial<SchedulerConfig>;
  http?: Partial<KernelConfig['http']>;
  grpc?: Partial<KernelConfig['grpc']>;
};

/** Long enough to cover a client's turnaround on loopback in bench:api (see the README). */
const DEFAULT_IDLE_POLL_MICROS = 500;
/** Polling longer than this would be a busy loop rather than bridging a gap. */
const MAX_IDLE_POLL_MICROS = 2_000;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function defaultKernHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.KERN_HOME || join(homedir(), '.kern');
}

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): KernelConfig {
  const kernHome = defaultKernHome(env);
  return {
    dataDir: join(kernHome, 'data'),
    kernHome,
    http: { host: '127.0.0.1', port: 7070, idlePollMicros: DEFAULT_IDLE_POLL_MICROS },
    grpc: { host: '127.0.0.1', port: 7071 },
    logLevel: 'info',
    store: 'sqlite',
    plugins: {},
    disabledPlugins: [],
    pluginDirs: [],
    bodyLimitBytes: 3 * 1024 * 1024,
    writeClientConfig: true,
    agent: { enabled: true },
    scheduler: { nodeLossGraceSeconds: 60, percentageOfNodesToScore: 0 },
  };
}

function fromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const o: ConfigOverrides = {};
  const port = (name: string, v: string | undefined) => (v === undefined ? undefined : toPort(v, name));
  if (env.KERN_DATA_DIR) o.dataDir = env.KERN_DATA_DIR;
  if (env.KERN_LOG_LEVEL) o.logLevel = env.KERN_LOG_LEVEL;
  if (env.KERN_STORE) o.store = env.KERN_STORE;
  if (env.KERN_HOST) { o.http = { host: env.KERN_HOST }; o.grpc = { host: env.KERN_HOST }; }
  const hp = port('KERN_PORT', env.KERN_PORT);
  if (hp !== undefined) o.http = { ...o.http, port: hp };
  if (env.KERN_SOCKET !== undefined) o.http = { ...o.http, socket: env.KERN_SOCKET };
  const poll = env.KERN_HTTP_IDLE_POLL_US?.trim();
  if (poll) o.http = { ...o.http, idlePollMicros: wholeNumberFrom(poll) as number };
  const gp = port('KERN_GRPC_PORT', env.KERN_GRPC_PORT);
  if (gp !== undefined) o.grpc = { ...o.grpc, port: gp };
  return o;
}

/** Digits from an environment variable as a number; anything else left as text, for validateConfig to refuse by name. */
function wholeNumberFrom(v: string): number | string {
  return /^\d+$/.test(v) ? Number(v) : v;
}

function toPort(v: unknown, field: string): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw errors.invalid(field, `"${v}" is not a port (0-65535)`);
  return n;
}

function fromFile(file: string): ConfigOverrides {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw errors.invalid('config', `cannot read ${file}: ${(e as Error).message}`);
  }
  let docs: YamlDocument[];
  try {
    docs = parseYamlDocuments(text);
  } catch (e) {
    if (!(e instanceof YamlInputError)) throw e;
    throw errors.invalid('config', `${file} is not valid YAML: line ${e.line}, column ${e.col}: ${e.reason}`);
  }
  if (docs.length > 1) throw errors.invalid('config', `${file} holds ${docs.length} YAML documents: keep the settings in one`);
  const parsed = docs[0]?.value;
  if (parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw errors.invalid('config', `${file} must be a mapping`);
  return parsed as ConfigOverrides;
}

function merge(base: KernelConfig, o: ConfigOverrides): KernelConfig {
  return {
    ...base,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    http: { ...base.http, ...(o.http ?? {}) },
    grpc: { ...base.grpc, ...(o.grpc ?? {}) },
    agent: { ...base.agent, ...(o.agent ?? {}) },
    scheduler: { ...base.scheduler, ...(o.scheduler ?? {}) },
  } as KernelConfig;
}

const KNOWN = new Set(Object.keys(defaultConfig({})));

/** Checks every field, naming the bad one. */
export function validateConfig(c: KernelConfig): KernelConfig {
  for (const k of Object.keys(c)) if (!KNOWN.has(k)) throw errors.invalid(`config.${k}`, `unknown setting (known: ${[...KNOWN].join(', ')})`);
  if (typeof c.dataDir !== 'string' || !c.dataDir) throw errors.invalid('config.dataDir', 'must be a directory path');
  c.http.port = toPort(c.http.port, 'config.http.port');
  c.grpc.port = toPort(c.grpc.port, 'config.grpc.port');
  const poll = c.http.idlePollMicros;
  if (!Number.isInteger(poll) || poll < 0 || poll > MAX_IDLE_POLL_MICROS) {
    throw errors.invalid('config.http.idlePollMicros', `${JSON.stringify(poll)} is not a whole number of microseconds from 0 (off) to ${MAX_IDLE_POLL_MICROS}`);
  }
  if (typeof c.http.host !== 'string' || !c.http.host) throw errors.invalid('config.http.host', 'must be an address such as 127.0.0.1');
  if (typeof c.grpc.host !== 'string' || !c.grpc.host) throw errors.invalid('config.grpc.host', 'must be an address such as 127.0.0.1');
  if (!LOG_LEVELS.includes(c.logLevel)) throw errors.invalid('config.logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  if (typeof c.store !== 'string' || !c.store) throw errors.invalid('config.store', 'must name a store driver, e.g. sqlite');
  if (typeof c.plugins !== 'object' || c.plugins === null || Array.isArray(c.plugins)) throw errors.invalid('config.plugins', 'must map plugin ids to settings');
  if (!Array.isArray(c.disabledPlugins)) throw errors.invalid('config.disabledPlugins', 'must be a list of plugin ids');
  if (!Array.isArray(c.pluginDirs)) throw errors.invalid('config.pluginDirs', 'must be a list of directories');
  if (!Number.isInteger(c.bodyLimitBytes) || c.bodyLimitBytes < 1024) throw errors.invalid('config.bodyLimitBytes', 'must be a whole number of bytes ≥ 1024');
  if (typeof c.agent !== 'object' || c.agent === null) throw errors.invalid('config.agent', 'must be a mapping');
  if (typeof c.agent.enabled !== 'boolean') throw errors.invalid('config.agent.enabled', 'must be true or false');
  if (c.agent.nodeName !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(c.agent.nodeName)) {
    throw errors.invalid('config.agent.nodeName', `"${c.agent.nodeName}" must be lower-case letters, digits, '-' and '.'`);
  }
  if (typeof c.scheduler !== 'object' || c.scheduler === null) throw errors.invalid('config.scheduler', 'must be a mapping');
  const grace = c.scheduler.nodeLossGraceSeconds;
  if (grace !== undefined && (typeof grace !== 'number' || !(grace > 0))) throw errors.invalid('config.scheduler.nodeLossGraceSeconds', 'must be a number of seconds > 0');
  const pct = c.scheduler.percentageOfNodesToScore;
  if (pct !== undefined && (typeof pct !== 'number' || pct < 0 || pct > 100)) throw errors.invalid('config.scheduler.percentageOfNodesToScore', 'must be a number from 0 (look for 100 feasible nodes) to 100');
  c.dataDir = resolve(c.dataDir);
  c.pluginDirs = c.pluginDirs.map((d) => resolve(d));
  c.http.socket = socketPath(c.http.socket, c.dataDir);
  return c;
}

/** The HTTP API's Unix socket in the data dir, by default; '' when that path is too long for a socket. */
export function defaultSocketPath(dataDir: string): string {
  const path = join(dataDir, 'kern.sock');
  return fitsSocketPath(path) ? path : '';
}

/**
 * The HTTP API's Unix socket path: the one given (made absolute; "" = none),
 * else `<dataDir>/kern.sock` unless that path is too long for a socket.
 */
function socketPath(given: unknown, dataDir: string): string {
  if (given === undefined || given === null) return defaultSocketPath(dataDir);
  if (typeof given !== 'string') throw errors.invalid('config.http.socket', 'must be a file path, or "" for no Unix socket');
  if (given === '') return '';
  const path = resolve(given);
  if (!fitsSocketPath(path)) {
    throw errors.invalid('config.http.socket', `${path} is longer than a Unix socket path may be (${MAX_SOCKET_PATH_BYTES} bytes): choose a shorter path, or "" for no socket`);
  }
  return path;
}

/**
 * Loads the config: defaults, then the file (`configFile`, or
 * `<dataDir>/config.yaml` when it exists), then KERN_* environment, then flags.
 */
export function loadConfig(options: { configFile?: string; flags?: ConfigOverrides; env?: NodeJS.ProcessEnv } = {}): KernelConfig {
  const env = options.env ?? process.env;
  let c = defaultConfig(env);
  const envO = fromEnv(env);
  const flags = options.flags ?? {};
  const dataDirGuess = flags.dataDir ?? envO.dataDir ?? c.dataDir;
  const file = options.configFile ?? (existsSync(join(dataDirGuess, 'config.yaml')) ? join(dataDirGuess, 'config.yaml') : undefined);
  if (file) c = merge(c, fromFile(file));
  c = merge(c, envO);
  c = merge(c, flags);
  return validateConfig(c);
}
