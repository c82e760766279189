import { Command } from 'commander';
import { DRIVER_KINDS } from '../plugin';
import { initProject } from './init-project';
import { runConformance } from './run-conformance';

/** Where the commands write; a test passes its own. */
export interface CliOutput {
  out(text: string): void;
}

/** The sdk's own version, from its package.json (one level above src/ and dist/). */
export function sdkVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}

/**
 * The `kern-sdk` commands. Actions set `process.exitCode` through
 * `setExitCode`; errors propagate to the caller (main prints them).
 */
export function buildProgram(output: CliOutput, setExitCode: (code: number) => void): Command {
  const program = new Command('kern-sdk')
    .description('tools for writing Kern drivers: scaffold a driver project, run the sdk\'s conformance suites against a driver')
    .version(sdkVersion())
    .showHelpAfterError()
    .exitOverride();

  program
    .command('init')
    .description('scaffold a driver project: package.json with the kern manifest, tsconfig, a driver with every method stubbed, plugin and out-of-process entries, a conformance test, README')
    .requiredOption('--kind <kind>', `the driver kind: ${DRIVER_KINDS.join(', ')}`)
    .argument('<name>', 'the driver name, kebab-case (e.g. raw-exec); the plugin id is <kind>-<name>')
    .option('--dir <dir>', 'where to create it (default: ./<kind>-<name>); must be empty or absent')
    .option('--sdk <spec>', 'the @kern/sdk dependency to write, e.g. file:../kern/sdk (default: ^<this sdk\'s version>)')
    .action(async (name: string, opts: { kind: string; dir?: string; sdk?: string }) => {
      const result = await initProject({ kind: opts.kind, name, dir: opts.dir, sdkSpec: opts.sdk, sdkVersion: sdkVersion() });
      output.out(`created a ${result.kind} driver project in ${result.dir}:\n${result.files.map((f) => `  ${f}`).join('\n')}\n`);
      output.out(`next: cd ${result.dir} && npm install && npm test\n`);
    });

  program
    .command('conformance')
    .description('run the sdk\'s conformance suite for KIND against a driver: in process through the package entry\'s createConformanceTarget(), or out of process with --command')
    .argument('<kind>', 'the driver kind: runtime, store, network, volume or objectstore')
    .argument('[target]', 'the driver\'s package directory', '.')
    .option('--command <command>', 'start the driver as a process (run in TARGET, e.g. "node dist/main.js") and talk to it over KERN_DRIVER_SOCKET')
    .option('--entry <module>', 'in process: the module exporting createConformanceTarget() (default: the package entry, kern.entry or main)')
    .option('--image <image>', 'with --command: the image the runtime suite runs (default: kern/busybox:1)')
    .option('--pod-cidr <cidr>', 'with --command, required for network: the range the driver hands pod addresses from, e.g. 10.88.0.0/16')
    .option('--data-dir <dir>', 'with --command: the driver\'s data dir, KERN_PLUGIN_DATA_DIR (default: a temporary one)')
    .option('--config <json>', 'with --command: the driver\'s config section as JSON, KERN_PLUGIN_CONFIG (default: {})')
    .option('-t, --test-name-pattern <regex>', 'run only the tests whose name matches')
    .action(async (kind: string, target: string, opts: {
      command?: string; entry?: string; image?: string; podCidr?: string; dataDir?: string; config?: string; testNamePattern?: string;
    }) => {
      setExitCode(await runConformance({ kind, target, ...opts }));
    });

  return program;
}
