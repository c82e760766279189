/**
 * bench:api — resources created per second through the HTTP API (keep-alive,
 * 2 concurrent clients) and watch delivery latency (create sent → ADDED
 * event received), over loopback TCP and over the kernel's Unix socket in
 * turns, beside two baselines measured in the same run: raw
 * better-sqlite3 inserts of the same JSON into the same database file, and
 * a bare node:http server answering the same requests (the floor any Node
 * HTTP server has on this machine).
 *
 * The two clients are plain keep-alive connections (KeepAliveConnection),
 * not node:http's client: in this closed loop the client's time per reply
 * is part of every round trip, and node:http's costs twice as much.
 *
 *   npm run bench:api [-- --count 20000]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onJsonLines } from '@kern/sdk';
import { startKern } from '../helpers/kern-process';
import { CLIENTS, WARMUP, drive, manifest, openClients, sidesInTurn, warmUp } from './configmap-load';
import { HttpTarget } from './keep-alive-connection';
import { hostCpuTimes, percentile, printTable, processCpuSeconds, stealShare } from './stats';

const COUNT = Number(process.argv[process.argv.indexOf('--count') + 1]) || 20000;
/** Turns the transports take: enough that a slow spell of the host hits both. */
const ROUNDS = 8;

/** How the creating clients reach the kernel. */
interface Transport { label: string; target: HttpTarget }

async function main(): Promise<void> {
  const kern = await startKern();
  const url = new URL(kern.server);
  const sentAt = new Map<string, number>();
  const transports: Transport[] = [{ label: 'TCP', target: { host: url.hostname, port: url.port } }];
  if (kern.socket) transports.push({ label: 'Unix socket', target: { socketPath: kern.socket } });
  try {
    // Per transport: its own clients, and a watch over the same transport
    // for its own creates (label run=<prefix>), opened first so every
    // create's ADDED event is timed.
    const runs = transports.map((t, k) => {
      const prefix = `bench${k}`;
      const latencies: number[] = [];
      let gotAll: () => void = () => undefined;
      const allSeen = new Promise<void>((ok) => { gotAll = ok; });
      const watch = http.get({
        ...t.target, agent: false,
        path: `/api/v1/namespaces/default/configmaps?watch=true&labelSelector=run%3D${prefix}`,
        headers: { authorization: `Bearer ${kern.token}` },
      }, (res) => {
        onJsonLines(res, (value) => {
          const ev = value as { type: string; object: { metadata: { name: string } } };
          const t0 = sentAt.get(ev.object.metadata?.name);
          if (ev.type === 'ADDED' && t0 !== undefined) {
            latencies.push(performance.now() - t0);
            if (latencies.length === COUNT) gotAll();
          }
        });
      });
      return { t, prefix, watch, latencies, allSeen, clients: openClients(t.target, kern.token) };
    });
    await new Promise((r) => setTimeout(r, 200));

    // The transports take turns (A B B A ...), so the host's swings hit both alike.
    for (const r of runs) await warmUp(r.clients);
    const hostBefore = hostCpuTimes();
    const { totals, rounds } = await alternateRounds(runs.length, (k, from, n) => {
      const r = runs[k];
      return drive(kern.child.pid!, r.clients, n, (i) => manifest(from + i, r.prefix), (i) => sentAt.set(`${r.prefix}-${from + i}`, performance.now()));
    });
    const steal = stealShare(hostBefore, hostCpuTimes());
    await Promise.race([Promise.all(runs.map((r) => r.allSeen)), new Promise((r) => setTimeout(r, 10000))]);
    for (const r of runs) { r.watch.destroy(); r.clients.forEach((c) => c.close()); }
    await kern.stop();

    const floor = await bareHttpFloor();

    // Baseline: the same JSON, one transaction per insert, same file and pragmas.
    const db = new Database(join(kern.dataDir, 'plugins', 'store-sqlite', 'state.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS bench_baseline (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO bench_baseline (k, v) VALUES (?, ?)');
    const cpu0 = process.cpuUsage();
    const b0 = performance.now();
    for (let i = 0; i < COUNT; i++) insert.run(`bench-${i}`, manifest(i));
    const rawSeconds = (performance.now() - b0) / 1000;
    const rawCpu = process.cpuUsage(cpu0);
    db.close();

    const rawCpuPerInsert = (rawCpu.user + rawCpu.system) / COUNT;
    const rawRate = COUNT / rawSeconds;
    const rates = totals.map((t) => COUNT / t.seconds);
    const watch = runs.map((r) => r.latencies.sort((a, b) => a - b));
    const floorOf = (r: (typeof runs)[number]) => floor[r.t.label] ?? floor.TCP;
    console.log(`\nbench:api — ${COUNT} ConfigMap creates per transport (after ${WARMUP} untimed), ${CLIENTS} keep-alive clients, kernel in its own process; transports alternate in ${ROUNDS} rounds\n`);
    const perRun = (f: (k: number) => string | number) => runs.map((_, k) => f(k));
    printTable([
      ['measure', ...runs.map((r) => `Kern over ${r.t.label}`), 'raw better-sqlite3', 'target'],
      ['creates/s', ...perRun((k) => rates[k]), rawRate, '>= 3000'],
      ['  ratio to raw inserts', ...perRun((k) => `${(rates[k] / rawRate * 100).toFixed(1)}%`), '-', ''],
      ['kernel CPU per create (µs)', ...perRun((k) => totals[k].cpuMicros), rawCpuPerInsert, '<= 333 (1 core)'],
      ['watch p50 (ms), same transport', ...perRun((k) => percentile(watch[k], 50)), '-', ''],
      ['watch p99 (ms), same transport', ...perRun((k) => percentile(watch[k], 99)), '-', '< 50'],
      ['events seen', ...perRun((k) => `${watch[k].length}/${COUNT}`), '-', ''],
      ['floor: bare node:http, req/s', ...perRun((k) => floorOf(runs[k]).rate), '-', ''],
      ['  its CPU per req (µs)', ...perRun((k) => floorOf(runs[k]).cpuMicros), '-', ''],
      ['  Kern\'s share of the floor\'s rate', ...perRun((k) => `${(rates[k] / floorOf(runs[k]).rate * 100).toFixed(0)}%`), '-', ''],
    ]);
    // The rate follows the host: the same build's CPU per create swings from
    // round to round with the CPU time the hypervisor steals, so each round is shown with it.
    console.log(`\nhost: ${(steal * 100).toFixed(1)}% of this VM's CPU time was stolen by the hypervisor during the timed Kern rounds (/proc/stat); round by round:\n`);
    printTable([
      ['round', 'transport', 'creates/s', 'kernel µs/create', 'host steal'],
      ...rounds.map((r) => [String(r.round + 1), runs[r.side].t.label, r.rate, r.cpuMicros, `${(r.steal * 100).toFixed(1)}%`]),
    ]);
  } finally {
    kern.cleanup();
  }
}

/** One side's turn in one round. */
interface Round { round: number; side: number; rate: number; cpuMicros: number; steal: number }

/**
 * COUNT timed creates per side, in ROUNDS rounds whose order alternates
 * (A B, B A, ...) so the host's swings hit every side alike; each side's
 * wall time and server CPU per create, summed over its rounds, and each
 * turn on its own with the host's steal during it.
 */
async function alternateRounds(
  sides: number,
  run: (side: number, from: number, n: number) => Promise<{ seconds: number; cpuMicros: number }>,
): Promise<{ totals: { seconds: number; cpuMicros: number }[]; rounds: Round[] }> {
  const totals = Array.from({ length: sides }, () => ({ seconds: 0, cpuMicros: 0 }));
  const rounds: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const from = Math.floor(COUNT * round / ROUNDS);
    const n = Math.floor(COUNT * (round + 1) / ROUNDS) - from;
    if (n === 0) continue;
    for (const side of sidesInTurn(sides, round)) {
      const host = hostCpuTimes();
      const m = await run(side, from, n);
      rounds.push({ round, side, rate: n / m.seconds, cpuMicros: m.cpuMicros, steal: stealShare(host, hostCpuTimes()) });
      totals[side].seconds += m.seconds;
      totals[side].cpuMicros += m.cpuMicros * n / COUNT;
    }
  }
  return { totals, rounds };
}

/**
 * What any Node HTTP server costs on this machine: a bare node:http server
 * in its own process that parses the body and answers 201 with it, driven
 * by the same client the same way (warm-up, then COUNT requests), over TCP
 * and over a Unix socket in turns.
 */
const BARE_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString()));
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
const sock = process.argv[1];
server.listen(0, '127.0.0.1', () => require('node:net').createServer((s) => server.emit('connection', s)).listen(sock, () => console.log(server.address().port)));`;

async function bareHttpFloor(): Promise<Record<string, { rate: number; cpuMicros: number }>> {
  const dir = mkdtempSync(join(tmpdir(), 'kern-bench-floor-'));
  const socketPath = join(dir, 'bare.sock');
  const child = spawn(process.execPath, ['-e', BARE_SERVER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<string>((ok, fail) => {
      child.stdout.once('data', (d) => ok(String(d).trim()));
      child.once('exit', (code) => fail(new Error(`the bare HTTP server exited with ${code}`)));
    });
    const sides: [string, HttpTarget][] = [['TCP', { host: '127.0.0.1', port }], ['Unix socket', { socketPath }]];
    const out: Record<string, { rate: number; cpuMicros: number }> = {};
    const clients = sides.map(([, target]) => openClients(target, 'none'));
    for (const c of clients) await warmUp(c);
    const { totals } = await alternateRounds(sides.length, (k, from, n) => drive(child.pid!, clients[k], n, (i) => manifest(from + i)));
    clients.flat().forEach((c) => c.close());
    sides.forEach(([label], k) => { out[label] = { rate: COUNT / totals[k].seconds, cpuMicros: totals[k].cpuMicros }; });
    return out;
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
