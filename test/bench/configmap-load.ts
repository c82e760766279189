/**
 * The closed-loop load of bench:api and bench:setting: ConfigMap creates
 * over CLIENTS keep-alive connections, each client sending its next create
 * as soon as its reply is in.
 */
import { HttpTarget, KeepAliveConnection, postHead } from './keep-alive-connection';
import { processCpuSeconds } from './stats';

/** Concurrent clients, as issue 2's bench:api target sets. */
export const CLIENTS = 2;

/**
 * Creates sent before the timed ones (other names, same shape), so the rate
 * is the kernel's steady state rather than V8 compiling its hot path: over
 * the first thousands of requests the cost per create falls by about half.
 */
export const WARMUP = 3000;

// ConfigMaps, not Pods: every pod would be bound and started as a real
// container by the node agent, which is what bench:podstart measures.
export function manifest(i: number, prefix = 'bench'): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: `${prefix}-${i}`, namespace: 'default', labels: { app: 'bench', shard: String(i % 16), run: prefix } },
    data: { 'app.properties': `replicas=3\nimage=kern/busybox:1\nshard=${i % 16}\n`, owner: 'bench' },
  });
}

/** The CLIENTS keep-alive connections to one server, opened once and used round after round. */
export function openClients(target: HttpTarget, token: string): KeepAliveConnection[] {
  const head = postHead('/api/v1/namespaces/default/configmaps', { authorization: `Bearer ${token}` });
  return Array.from({ length: CLIENTS }, () => new KeepAliveConnection(target, head));
}

/** WARMUP untimed creates (other names, same shape): V8 compiles the hot path. */
export async function warmUp(clients: KeepAliveConnection[]): Promise<void> {
  const prefix = `warmup-${Math.random().toString(36).slice(2, 8)}`;
  await createMany(clients, Array.from({ length: WARMUP }, (_, i) => manifest(i, prefix)));
}

/** POSTs `bodies`, each client sending its next as soon as its reply is in; any answer but 200/201 fails the run. */
export async function createMany(clients: KeepAliveConnection[], bodies: string[], beforeSend: (i: number) => void = () => undefined): Promise<void> {
  let next = 0;
  await Promise.all(clients.map(async (client) => {
    while (next < bodies.length) {
      const i = next++;
      beforeSend(i);
      const reply = await client.send(bodies[i]);
      if (reply.status !== 201 && reply.status !== 200) throw new Error(`create got HTTP ${reply.status}: ${reply.body.toString().slice(0, 200)}`);
    }
  }));
}

/**
 * `n` timed creates, CLIENTS at a time; the wall time, and the server
 * process's CPU time per create.
 */
export async function drive(serverPid: number, clients: KeepAliveConnection[], n: number, body: (i: number) => string, beforeSend: (i: number) => void = () => undefined): Promise<{ seconds: number; cpuMicros: number }> {
  // The bodies are made before the clock starts, as load generators build
  // their requests up front: making them is not what is measured.
  const bodies = Array.from({ length: n }, (_, i) => body(i));
  const cpuBefore = processCpuSeconds(serverPid);
  const started = performance.now();
  await createMany(clients, bodies, beforeSend);
  const seconds = (performance.now() - started) / 1000;
  return { seconds, cpuMicros: (processCpuSeconds(serverPid) - cpuBefore) / n * 1e6 };
}

/**
 * The order `sides` take their turns in `round`: 0, 1, ... and reversed
 * every other round (A B, B A, ...), so the host's swings hit every side alike.
 */
export function sidesInTurn(sides: number, round: number): number[] {
  const order = Array.from({ length: sides }, (_, k) => k);
  return round % 2 ? order.reverse() : order;
}
