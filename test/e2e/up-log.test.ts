/**
 * What `kern up` prints on its console when a plugin fails: the reason, once
 * per plugin, and no stack trace unless --debug is given (the log file under
 * the data dir keeps the stacks).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KernProcess, startKern } from '../helpers/kern-process';

jest.setTimeout(60_000);

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'plugins');
const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

let dir: string;
let config: string;
let kern: KernProcess | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kern-up-log-'));
  for (const id of ['future-abi', 'broken']) cpSync(join(FIXTURES, id), join(dir, 'plugins', id), { recursive: true });
  config = join(dir, 'kern.yaml');
  writeFileSync(config, `pluginDirs: [${JSON.stringify(join(dir, 'plugins'))}]\n`);
});

afterEach(async () => {
  await kern?.stop();
  kern?.cleanup();
  kern = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The console output once both plugin failures are in (the log transport may write them after the ready line). */
async function consoleOf(k: KernProcess): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (!(/plugin future-abi failed/.test(k.output()) && /plugin broken failed/.test(k.output())) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  // A while longer, so a line logged after them (a repeat) would be in too.
  await new Promise((r) => setTimeout(r, 500));
  return k.output();
}

it('names each failed plugin once, with its reason and no stack trace', async () => {
  kern = await startKern({ extraArgs: ['--config', config] });
  const out = await consoleOf(kern);
  expect(out).toMatch(/plugin future-abi failed: plugin future-abi 1\.0\.0 needs kernel ABI \^2\.0\.0/);
  expect(out).toMatch(/plugin broken failed: plugin broken failed to activate: boom: cannot reach the backend/);
  expect(out.match(/WARN.*plugin future-abi/g)).toHaveLength(1);
  expect(out).not.toMatch(/future-abi failed to activate/);
  // A user's error: the message says it all, so its record has no err block.
  const record = out.slice(out.indexOf('WARN: plugin future-abi')).split(/\n(?=\S)/)[0];
  expect(record).toMatch(/field: "kern.kernelAbi"/);
  expect(record).not.toMatch(/err:/);
  expect(out).not.toMatch(STACK_LINE);
  // The file keeps the stack for whoever debugs.
  expect(readFileSync(join(kern.dataDir, 'logs', 'kern.log'), 'utf8')).toMatch(/"stack":"[^"]*boom: cannot reach the backend/);
});

it('prints the stacks too with --debug', async () => {
  kern = await startKern({ extraArgs: ['--config', config, '--debug'] });
  expect(await consoleOf(kern)).toMatch(STACK_LINE);
});
