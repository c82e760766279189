import net from 'node:net';
import { Container, Probe, RuntimeDriver, isUnavailable } from '@kern/sdk';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/**
 * One probe run: true (passed), false (failed), or undefined when there is no
 * verdict because the runtime driver itself is unavailable (an out-of-process
 * driver restarting): that must not count against a healthy container.
 */
export async function runProbe(probe: Probe, target: { runtime: RuntimeDriver; containerId: string; podIP?: string; container: Container }): Promise<boolean | undefined> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const port = (p: number | string) => (typeof p === 'number' ? p : target.container.ports?.find((x) => x.name === p)?.containerPort ?? Number(p));
  try {
    if (probe.exec) {
      const session = await target.runtime.exec(target.containerId, probe.exec.command);
      session.stdout.resume();
      session.stderr.resume();
      const code = await withTimeout(session.exitCode, timeoutMs);
      return code === 0;
    }
    if (probe.httpGet) {
      const host = probe.httpGet.host ?? target.podIP;
      if (!host) return false;
      const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
      const headers = Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
      const res = await fetch(`${scheme}://${host}:${port(probe.httpGet.port)}${probe.httpGet.path ?? '/'}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 400;
    }
    if (probe.tcpSocket) {
      const host = probe.tcpSocket.host ?? target.podIP;
      if (!host) return false;
      return await new Promise<boolean>((ok) => {
        const s = net.connect({ host, port: port(probe.tcpSocket!.port), timeout: timeoutMs });
        s.once('connect', () => { s.destroy(); ok(true); });
        s.once('timeout', () => { s.destroy(); ok(false); });
        s.once('error', () => ok(false));
      });
    }
  } catch (e) {
    return isUnavailable(e) ? undefined : false;
  }
  return true;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((ok, fail) => {
    const t = setTimeout(() => ok(undefined), ms);
    p.then((v) => { clearTimeout(t); ok(v); }, (e) => { clearTimeout(t); fail(e); });
  });
}

interface ProbeState {
  podUid: string;
  timer?: NodeJS.Timeout;
  successes: number;
  failures: number;
  /** Current verdict: undefined until the first threshold is crossed. */
  ok?: boolean;
}

/**
 * Runs the probes of running containers on their periods and reports verdict
 * changes. Keyed by container instance id, so a restarted container starts
 * from scratch, as in Kubernetes.
 */
export class ProbeManager {
  private readonly states = new Map<string, ProbeState>();

  constructor(private readonly runtime: RuntimeDriver, private readonly onChange: (podUid: string) => void) {}

  /** Starts probing if not yet started. Startup must succeed before liveness and readiness run. */
  ensure(podUid: string, containerId: string, container: Container, podIP: string | undefined): void {
    for (const kind of ['startup', 'liveness', 'readiness'] as ProbeKind[]) {
      const probe = probeOf(container, kind);
      const key = `${containerId}/${kind}`;
      if (!probe || this.states.has(key)) continue;
      const state: ProbeState = { podUid, successes: 0, failures: 0 };
      this.states.set(key, state);
      const tick = async () => {
        if (!this.states.has(key)) return;
        if (kind !== 'startup' && this.result(containerId, 'startup', container) !== true) {
          state.timer = setTimeout(tick, (probe.periodSeconds ?? 10) * 1000);
          return;
        }
        const ok = await runProbe(probe, { runtime: this.runtime, containerId, podIP, container });
        if (!this.states.has(key)) return;
        if (ok === undefined) {
          state.timer = setTimeout(tick, (probe.periodSeconds ?? 10) * 1000);
          return;
        }
        const before = state.ok;
        if (ok) { state.successes++; state.failures = 0; } else { state.failures++; state.successes = 0; }
        if (ok && state.successes >= (probe.successThreshold ?? 1)) state.ok = true;
        if (!ok && state.failures >= (probe.failureThreshold ?? 3)) state.ok = false;
        if (state.ok !== before) this.onChange(podUid);
        // A passed startup probe is done: it never runs again for this instance.
        if (kind === 'startup' && state.ok) return;
        state.timer = setTimeout(tick, (probe.periodSeconds ?? 10) * 1000);
      };
      state.timer = setTimeout(tick, (probe.initialDelaySeconds ?? 0) * 1000);
    }
  }

  /**
   * The verdict for container instance `containerId` running `container`:
   * true when it has no probe of `kind`; otherwise true or false once
   * decided, and undefined until then, including before probing started
   * (a container seen running before `ensure` is not yet ready).
   */
  result(containerId: string, kind: ProbeKind, container: Container): boolean | undefined {
    if (!probeOf(container, kind)) return true;
    return this.states.get(`${containerId}/${kind}`)?.ok;
  }

  /** Stops probing the containers of pod `podUid` that are not in `keep` (ids). */
  retain(podUid: string, keep: Set<string>): void {
    for (const [key, s] of this.states) {
      if (s.podUid === podUid && !keep.has(key.slice(0, key.lastIndexOf('/')))) { clearTimeout(s.timer); this.states.delete(key); }
    }
  }

  stopAll(): void {
    for (const s of this.states.values()) clearTimeout(s.timer);
    this.states.clear();
  }
}

export function probeOf(c: Container, kind: ProbeKind): Probe | undefined {
  return kind === 'startup' ? c.startupProbe : kind === 'liveness' ? c.livenessProbe : c.readinessProbe;
}
