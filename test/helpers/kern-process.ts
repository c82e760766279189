import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../../kernel/plugins/builtin-plugins';

export function cliPath(): string {
  const p = join(findRepoRoot(), 'dist', 'kernel', 'cli', 'main.js');
  if (!existsSync(p)) throw new Error(`${p} is missing: build first (npm run build)`);
  return p;
}

export interface KernProcess {
  child: ChildProcess;
  home: string;
  dataDir: string;
  server: string;
  token: string;
  /** The HTTP API's Unix socket, when it listens on one. */
  socket?: string;
  stop(): Promise<number | null>;
  /** What it printed so far (stdout then stderr), for error reports. */
  output(): string;
  cleanup(): void;
}

/** Starts `kern up` on free ports in a temp KERN_HOME and waits for its ready line. */
export async function startKern(options: { home?: string; nodeName?: string; extraArgs?: string[]; timeoutMs?: number } = {}): Promise<KernProcess> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'kern-'));
  const dataDir = join(home, 'data');
  // KERN_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the kernel of a bench.
  const nodeArgs = (process.env.KERN_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, cliPath(), 'up', '--data-dir', dataDir, '--port', '0', '--grpc-port', '0', '--log-level', 'warn', '--node-name', options.nodeName ?? `kern-${process.pid}`, ...(options.extraArgs ?? [])], {
    env: { ...process.env, KERN_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`kern up did not get ready in time\nstdout: ${out}\nstderr: ${err}`)), options.timeoutMs ?? 30000);
    const check = () => { if (/ready/i.test(out)) { clearTimeout(timer); ok(); } };
    child.stdout!.on('data', check);
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`kern up exited with ${code}\nstdout: ${out}\nstderr: ${err}`)); });
  });
  const cfg = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { server: string; token: string; socket?: string };
  return {
    child, home, dataDir, server: cfg.server, token: cfg.token, socket: cfg.socket,
    output: () => `${out}\n${err}`,
    stop: () => new Promise((ok) => {
      if (child.exitCode !== null) return ok(child.exitCode);
      child.once('exit', (code) => ok(code));
      child.kill('SIGTERM');
    }),
    cleanup: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (!options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}
