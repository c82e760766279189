/**
 * bench:compare — this build against another revision, run side by side:
 * both kernels at once, each fed the same requests at a fixed rate below
 * saturation, kernel CPU per operation read from /proc for each. The host's
 * swings (a third between runs on a shared VM) then hit both builds alike,
 * so a change of a few percent shows.
 *
 *   npm run bench:compare -- [--base REV] [--shape api,scheduler] [--rounds 3]
 *       [--seconds 15] [--api-rate 600] [--pod-rate 300] [--nodes 2000]
 *
 * The base revision is checked out into a temporary git worktree, given this
 * tree's node_modules (its own @kern packages) and built there.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KernProcess } from '../helpers/kern-process';
import { ApiClient, HollowNodeFleet } from './hollow-node-fleet';
import { benchFleet, benchPod, startKernForHollowNodes } from './scheduler-workload';
import { printTable, processCpuSeconds } from './stats';

const argOf = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const BASE = argOf('--base', 'HEAD~1');
const SHAPES = argOf('--shape', 'api,scheduler').split(',');
const ROUNDS = Number(argOf('--rounds', '3'));
const SECONDS = Number(argOf('--seconds', '15'));
const API_RATE = Number(argOf('--api-rate', '600'));
const POD_RATE = Number(argOf('--pod-rate', '300'));
const NODES = Number(argOf('--nodes', '2000'));

const ROOT = resolve(__dirname, '../../..');

// What this bench compares is the kernel's CPU per operation. A kernel that
// polls through short gaps between requests (http.idlePollMicros) counts the
// polling as CPU too, and builds from before it do not poll: both sides run
// without it unless the caller sets it.
process.env.KERN_HTTP_IDLE_POLL_US ??= '0';

/** A built checkout of `rev` beside this one; remove() takes it away. */
function checkout(rev: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kern-base-'));
  const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const remove = () => {
    try { git('worktree', 'remove', '--force', dir); } catch { rmSync(dir, { recursive: true, force: true }); }
  };
  try {
    git('worktree', 'add', '--detach', dir, rev);
    // This tree's packages, except its own: @kern links point into the checkout (they are relative).
    mkdirSync(join(dir, 'node_modules'));
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry === '@kern') cpSync(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry), { recursive: true, verbatimSymlinks: true });
      else symlinkSync(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry));
    }
    process.stderr.write(`building ${rev} in ${dir} …\n`);
    execFileSync('npx', ['tsc', '-b'], { cwd: dir, stdio: 'inherit' });
  } catch (e) {
    remove();
    throw e;
  }
  return { dir, remove };
}

interface Side { label: string; kern: KernProcess; clients: ApiClient[]; fleet?: HollowNodeFleet; stopWatch?: () => void; done: number }

async function startSide(label: string, root: string, withNodes: boolean): Promise<Side> {
  // Each kernel from its own tree's CLI.
  const { startKern } = require(join(root, 'dist/test/helpers/kern-process')) as typeof import('../helpers/kern-process');
  const kern = await startKernForHollowNodes(startKern, 'kern-compare-');
  const side: Side = { label, kern, clients: [0, 1, 2, 3].map(() => new ApiClient(kern.server, kern.token)), done: 0 };
  if (withNodes) {
    side.fleet = benchFleet(kern, NODES, true);
    await side.fleet.start();
  }
  return side;
}

async function stopSide(s: Side): Promise<void> {
  s.fleet?.stop();
  s.stopWatch?.();
  s.clients.forEach((c) => c.close());
  await s.kern.stop();
  rmSync(s.kern.home, { recursive: true, force: true });
}

const configMap = (i: number) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'default', labels: { app: 'compare' } }, data: { key: 'x'.repeat(200), i: String(i) } });

/**
 * Rounds of `rate` requests per second into both sides for SECONDS each;
 * per side, kernel CPU per counted operation (`s.done` moves on each).
 */
async function rounds(sides: Side[], rate: number, send: (s: Side, i: number) => void): Promise<number[][]> {
  const out: number[][] = [];
  let next = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const cpu0 = sides.map((s) => processCpuSeconds(s.kern.child.pid!));
    const done0 = sides.map((s) => s.done);
    const t0 = Date.now();
    let sent = 0;
    await new Promise<void>((ok) => {
      const tick = setInterval(() => {
        const due = Math.floor((Date.now() - t0) / 1000 * rate) - sent;
        // Which side gets each request first alternates: a null run (a tree
        // against its own HEAD) showed 2-3% less CPU per op for the side
        // always sent to second.
        for (let j = 0; j < due; j++, sent++, next++) for (const s of next % 2 ? [...sides].reverse() : sides) send(s, next);
        if (Date.now() - t0 >= SECONDS * 1000) { clearInterval(tick); setTimeout(ok, 2000); }
      }, 5);
    });
    out.push(sides.map((s, i) => (processCpuSeconds(s.kern.child.pid!) - cpu0[i]) * 1e6 / Math.max(1, s.done - done0[i])));
    process.stderr.write(`round ${r + 1}/${ROUNDS}: ${sides.map((s, i) => `${s.label} ${out[r][i].toFixed(0)} µs`).join(', ')}\n`);
  }
  return out;
}

const failOn = (what: string) => (r: { status: number; body: string }) => {
  if (r.status >= 300) process.stderr.write(`${what}: HTTP ${r.status} ${r.body.slice(0, 200)}\n`);
  return r;
};

async function compareApi(base: string): Promise<(string | number)[][]> {
  const sides = [await startSide('base', base, false), await startSide('this', ROOT, false)];
  try {
    for (const s of sides) s.stopWatch = s.clients[3].watch('/api/v1/namespaces/default/configmaps?watch=true', () => undefined);
    const per = await rounds(sides, API_RATE, (s, i) => {
      void s.clients[i % 2].send('POST', '/api/v1/namespaces/default/configmaps', configMap(i)).then(failOn('create')).then((r) => { if (r.status === 201) s.done++; });
    });
    return per.map((p, r) => [`api: ConfigMap create, ${API_RATE}/s, round ${r + 1}`, p[0], p[1], `${((p[1] / p[0] - 1) * 100).toFixed(1)}%`]);
  } finally {
    for (const s of sides) await stopSide(s);
  }
}

async function compareScheduler(base: string): Promise<(string | number)[][]> {
  const sides = [await startSide('base', base, true), await startSide('this', ROOT, true)];
  try {
    for (const s of sides) {
      const seen = new Set<string>();
      s.stopWatch = s.clients[3].watch('/api/v1/namespaces/default/pods?watch=true', (e) => {
        const name = e.object?.metadata?.name;
        if (e.object?.status?.phase === 'Running' && !seen.has(name)) { seen.add(name); s.done++; }
      });
    }
    const per = await rounds(sides, POD_RATE, (s, i) => {
      void s.clients[i % 3].send('POST', '/api/v1/namespaces/default/pods', benchPod(i)).then(failOn('create'));
    });
    return per.map((p, r) => [`scheduler: pod to Running, ${NODES} nodes, ${POD_RATE}/s, round ${r + 1}`, p[0], p[1], `${((p[1] / p[0] - 1) * 100).toFixed(1)}%`]);
  } finally {
    for (const s of sides) await stopSide(s);
  }
}

async function main(): Promise<void> {
  process.on('uncaughtException', (e: NodeJS.ErrnoException) => {
    if (e.code === 'ECONNRESET') return;
    console.error(e);
    process.exit(1);
  });
  const base = checkout(BASE);
  const rows: (string | number)[][] = [];
  try {
    if (SHAPES.includes('api')) rows.push(...await compareApi(base.dir));
    if (SHAPES.includes('scheduler')) rows.push(...await compareScheduler(base.dir));
  } finally {
    base.remove();
  }
  console.log(`\nbench:compare — kernel CPU per operation, ${BASE} (base) and this tree, both running at once, ${SECONDS} s rounds\n`);
  printTable([['shape', 'base µs/op', 'this µs/op', 'change'], ...rows]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
