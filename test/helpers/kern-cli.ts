import { ChildProcess, spawn } from 'node:child_process';
import { cliPath } from './kern-process';

/** What one `kern` command did. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** The command is killed, and the promise fails with its output, after this long. Default 20 s. */
  timeoutMs?: number;
  /** Told of the child as soon as it exists (tests track what they started, to stop it). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Runs the built `kern` CLI with `args` to its end. */
export function runKernCli(args: string[], options: CliRunOptions): Promise<CliRun> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [cliPath(), ...args], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`kern ${args.join(' ')} did not finish\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}
