/**
 * bench:api — resources created per second through the HTTP API (keep-alive,
 * 2 concurrent clients) and watch delivery latency (create sent → ADDED
 * event received), beside two baselines measured in the same run: raw
 * better-sqlite3 inserts of the same JSON into the same database file, and
 * a bare node:http server answering the same requests (the floor any Node
 * HTTP server has on this machine).
 *
 *   npm run bench:api [-- --count 20000]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { onJsonLines } from '@kern/sdk';
import { startKern } from '../helpers/kern-process';
import { inParallel } from './hollow-node-fleet';
import { percentile, printTable, processCpuSeconds } from './stats';

const COUNT = Number(process.argv[process.argv.indexOf('--count') + 1]) || 20000;
const CLIENTS = 2;
/**
 * Creates sent before the timed ones (other names, same shape), so the rate
 * is the kernel's steady state rather than V8 compiling its hot path: over
 * the first thousands of requests the cost per create falls by about half.
 */
const WARMUP = 3000;

// ConfigMaps, not Pods: every pod would be bound and started as a real
// container by the node agent, which is what bench:podstart measures.
function manifest(i: number, prefix = 'bench'): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: `${prefix}-${i}`, namespace: 'default', labels: { app: 'bench', shard: String(i % 16) } },
    data: { 'app.properties': `replicas=3\nimage=kern/busybox:1\nshard=${i % 16}\n`, owner: 'bench' },
  });
}

async function main(): Promise<void> {
  const kern = await startKern();
  const url = new URL(kern.server);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 1 });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  try {
    // Watch first, so every create's ADDED event is timed.
    let gotAll: () => void = () => undefined;
    const allSeen = new Promise<void>((ok) => { gotAll = ok; });
    const watchReq = http.get({
      host: url.hostname, port: url.port, agent: false,
      path: '/api/v1/namespaces/default/configmaps?watch=true',
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
    await new Promise((r) => setTimeout(r, 200));

    const post = poster(url, kern.token, agent);
    const kernRun = await drive(kern.child.pid!, post, (i) => sentAt.set(`bench-${i}`, performance.now()));
    const httpSeconds = kernRun.seconds;
    await Promise.race([allSeen, new Promise((r) => setTimeout(r, 10000))]);
    const kernelCpuPerCreate = kernRun.cpuMicros;
    watchReq.destroy();
    agent.destroy();
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

    const sorted = latencies.sort((a, b) => a - b);
    const rawCpuPerInsert = (rawCpu.user + rawCpu.system) / COUNT;
    const httpRate = COUNT / httpSeconds;
    const rawRate = COUNT / rawSeconds;
    console.log(`\nbench:api — ${COUNT} ConfigMap creates (after ${WARMUP} untimed), ${CLIENTS} keep-alive clients, kernel in its own process\n`);
    printTable([
      ['measure', 'Kern HTTP API', 'raw better-sqlite3', 'ratio', 'target'],
      ['creates/s', httpRate, rawRate, `${(httpRate / rawRate * 100).toFixed(1)}%`, '>= 3000'],
      ['kernel CPU per create (µs)', kernelCpuPerCreate, rawCpuPerInsert, `${(kernelCpuPerCreate / rawCpuPerInsert).toFixed(1)}x`, '<= 333 (1 core)'],
      ['floor: bare node:http, req/s', floor.rate, '-', `Kern ${(httpRate / floor.rate * 100).toFixed(0)}%`, ''],
      ['floor: its CPU per req (µs)', floor.cpuMicros, '-', '-', ''],
      ['watch p50 (ms)', percentile(sorted, 50), '-', '-', ''],
      ['watch p99 (ms)', percentile(sorted, 99), '-', '-', '< 50'],
      ['events seen', latencies.length, '-', '-', String(COUNT)],
    ]);
  } finally {
    kern.cleanup();
  }
}

/**
 * The load both servers get: WARMUP untimed creates, then COUNT timed ones,
 * CLIENTS at a time; the server process's CPU time per timed create.
 */
async function drive(serverPid: number, post: (body: string) => Promise<void>, beforeSend: (i: number) => void = () => undefined): Promise<{ seconds: number; cpuMicros: number }> {
  const indexes = (n: number) => Array.from({ length: n }, (_, i) => i);
  await inParallel(indexes(WARMUP), CLIENTS, (i) => post(manifest(i, 'warmup')));
  const cpuBefore = processCpuSeconds(serverPid);
  const started = performance.now();
  await inParallel(indexes(COUNT), CLIENTS, (i) => {
    beforeSend(i);
    return post(manifest(i));
  });
  const seconds = (performance.now() - started) / 1000;
  return { seconds, cpuMicros: (processCpuSeconds(serverPid) - cpuBefore) / COUNT * 1e6 };
}

/** POSTs one JSON body to the configmaps path of `url`; resolves on 200/201. */
function poster(url: URL, token: string, agent: http.Agent): (body: string) => Promise<void> {
  return (body) => new Promise<void>((ok, fail) => {
    const req = http.request({
      host: url.hostname, port: url.port, agent, method: 'POST',
      path: '/api/v1/namespaces/default/configmaps',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 || res.statusCode === 200 ? ok() : fail(new Error(`create got HTTP ${res.statusCode}`))));
    });
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * What any Node HTTP server costs on this machine: a bare node:http server
 * in its own process that parses the body and answers 201 with it, driven
 * by the same client the same way (warm-up, then COUNT requests).
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
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

async function bareHttpFloor(): Promise<{ rate: number; cpuMicros: number }> {
  const child = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<string>((ok, fail) => {
      child.stdout.once('data', (d) => ok(String(d).trim()));
      child.once('exit', (code) => fail(new Error(`the bare HTTP server exited with ${code}`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const run = await drive(child.pid!, poster(new URL(`http://127.0.0.1:${port}`), 'none', agent));
    agent.destroy();
    return { rate: COUNT / run.seconds, cpuMicros: run.cpuMicros };
  } finally {
    child.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
