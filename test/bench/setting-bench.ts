/**
 * bench:setting — one kernel setting against another on this build: two
 * kernels running at once, one started with NAME=A in its environment and
 * one with NAME=B, each fed ConfigMap creates over loopback TCP by its own 2
 * keep-alive clients (bench:api's closed loop), one kernel at a time in
 * alternating rounds (A B, B A, ...). Separate runs of bench:api swing by 2×
 * with the host; paired rounds let both sides meet the same spells. It
 * prints each side's creates/s and kernel CPU per create, and the rate
 * ratio B/A per round: its median, and in how many rounds B was faster.
 *
 *   npm run bench:setting -- --env KERN_HTTP_IDLE_POLL_US --a 0 --b 500 [--rounds 12] [--count 2500]
 */
import { KernProcess, startKern } from '../helpers/kern-process';
import { drive, manifest, openClients, sidesInTurn, warmUp } from './configmap-load';
import { KeepAliveConnection } from './keep-alive-connection';
import { percentile, printTable } from './stats';

const argOf = (name: string, dflt?: string): string => {
  const i = process.argv.indexOf(name);
  if (i > 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (dflt === undefined) throw new Error(`${name} is required: npm run bench:setting -- --env NAME --a VALUE --b VALUE`);
  return dflt;
};
const NAME = argOf('--env');
const VALUES = [argOf('--a'), argOf('--b')];
const ROUNDS = Number(argOf('--rounds', '12'));
const COUNT = Number(argOf('--count', '2500'));

interface Side { value: string; kern: KernProcess; clients: KeepAliveConnection[]; rates: number[]; cpus: number[] }

/** A kernel started with NAME=value (the rest of this environment as it is). */
async function startSide(value: string): Promise<Side> {
  const before = process.env[NAME];
  process.env[NAME] = value;
  try {
    const kern = await startKern();
    const url = new URL(kern.server);
    return { value, kern, clients: openClients({ host: url.hostname, port: url.port }, kern.token), rates: [], cpus: [] };
  } finally {
    if (before === undefined) delete process.env[NAME];
    else process.env[NAME] = before;
  }
}

async function main(): Promise<void> {
  const sides: Side[] = [];
  try {
    for (const value of VALUES) sides.push(await startSide(value));
    for (const s of sides) await warmUp(s.clients);
    for (let round = 0; round < ROUNDS; round++) {
      for (const k of sidesInTurn(sides.length, round)) {
        const s = sides[k];
        const m = await drive(s.kern.child.pid!, s.clients, COUNT, (i) => manifest(round * COUNT + i, 'setting'));
        s.rates.push(COUNT / m.seconds);
        s.cpus.push(m.cpuMicros);
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS}\r`);
    }
  } finally {
    for (const s of sides) { s.clients.forEach((c) => c.close()); await s.kern.stop(); s.kern.cleanup(); }
  }
  const [a, b] = sides;
  const median = (xs: number[]) => percentile([...xs].sort((x, y) => x - y), 50);
  const ratios = b.rates.map((r, i) => r / a.rates[i]);
  console.log(`\nbench:setting — ${NAME}: ${a.value} (A) against ${b.value} (B), ${ROUNDS} rounds of ${COUNT} ConfigMap creates each, 2 keep-alive clients over TCP\n`);
  printTable([
    ['side', 'creates/s, median', 'lowest', 'highest', 'kernel CPU per create (µs), median'],
    ...sides.map((s, k) => [`${k ? 'B' : 'A'}: ${NAME}=${s.value}`, median(s.rates), Math.min(...s.rates), Math.max(...s.rates), median(s.cpus)]),
  ]);
  console.log(`\nB/A creates/s per round: median ${median(ratios).toFixed(3)}; B faster in ${ratios.filter((r) => r > 1).length} of ${ratios.length} rounds`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
