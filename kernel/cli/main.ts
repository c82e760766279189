#!/usr/bin/env node
import { main } from './program';

main().catch((e) => {
  // Errors inside a command are printed by the command runner; this is what escaped it.
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.argv.includes('--debug') && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  process.exitCode = 1;
});
