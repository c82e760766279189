import { DriverKind } from '../plugin';
import { DRIVER_KIND_TEMPLATES, DriverKindTemplate } from './driver-kinds';
import { pascalCase } from './names';

/** What a scaffolded driver project is made from. */
export interface DriverProject {
  kind: DriverKind;
  /** The driver name (kebab-case), e.g. `raw-exec`. */
  name: string;
  /** The `@kern/sdk` dependency: a semver range, or `file:...` for a local checkout. */
  sdkSpec: string;
}

/** Names derived from the kind and the driver name, used across the files. */
export interface ProjectNames {
  /** Plugin id, `<kind>-<name>`, like the in-repo `runtime-docker`. */
  pluginId: string;
  packageName: string;
  /** `RawExecRuntimeDriver`. */
  className: string;
  template: DriverKindTemplate;
}

export function projectNames(project: DriverProject): ProjectNames {
  const template = DRIVER_KIND_TEMPLATES[project.kind];
  const pluginId = `${project.kind}-${project.name}`;
  // `my-runtime` gives MyRuntimeDriver, not MyRuntimeRuntimeDriver.
  const base = pascalCase(project.name);
  const kindWord = template.interfaceName.replace(/Driver$/, '');
  const className = base.endsWith(kindWord) ? `${base}Driver` : `${base}${template.interfaceName}`;
  return { pluginId, packageName: `kern-plugin-${pluginId}`, className, template };
}

/**
 * The source files of a new driver project, by path: the driver with every
 * method of the kind's interface stubbed, the in-process plugin entry, the
 * out-of-process entry, the conformance target and test. `projectFiles`
 * adds the package files.
 */
export function sourceFiles(project: DriverProject): Record<string, string> {
  const names = projectNames(project);
  const files: Record<string, string> = {
    'src/driver.ts': driverSource(project, names),
    'src/index.ts': indexSource(project, names),
    'src/main.ts': mainSource(project, names),
    'src/driver.test.ts': testSource(project, names),
  };
  if (names.template.suite) files['src/conformance-target.ts'] = conformanceTargetSource(project, names);
  return files;
}

function driverSource(project: DriverProject, names: ProjectNames): string {
  const { template, className } = names;
  const sdkImports = ['KernelError', template.interfaceName, ...template.sdkTypes].sort();
  const stubs = template.methods.map((m) => {
    const signature = `${m.name}${m.typeParameters ?? ''}(${m.parameters}): ${m.returns}`;
    return [
      `  /** ${m.doc} */`,
      `  ${m.sync ? '' : 'async '}${signature} {`,
      '    // TODO: implement.',
      `    throw notImplemented('${m.name}');`,
      '  }',
    ].join('\n');
  });
  const optional = template.optionalMethods.length === 0 ? '' : [
    '',
    '  // Optional methods of the interface: add them when the driver supports them (the',
    '  // kernel checks whether they exist, so a stub that throws would claim support):',
    ...template.optionalMethods.map((m) => `  //   ${m.name}(${m.parameters}): ${m.returns} — ${m.doc}`),
  ].join('\n');
  return `${template.nodeImports.map((line) => `${line}\n`).join('')}import {
  ${sdkImports.join(', ')},
} from '@kern/sdk';

/** What the plugin entry (src/index.ts) or the out-of-process entry (src/main.ts) hands the driver. */
export interface ${className}Options {
  /** A directory the driver owns (the plugin's data dir). */
  dataDir: string;
  /** The plugin's config section (\`plugins.${names.pluginId}\` in the kernel config). */
  config: Record<string, unknown>;
}

/**
 * The \`${project.name}\` ${project.kind} driver.
 *
 * TODO: say what it runs on, what it needs on the host, and what it does not do.
 */
export class ${className} implements ${template.interfaceName} {
  readonly name = '${project.name}';

  constructor(readonly options: ${className}Options) {}

${stubs.join('\n\n')}
${optional}
}

function notImplemented(method: string): KernelError {
  return new KernelError('NotImplemented', \`${project.kind} driver ${project.name}: \${method} is not implemented yet\`);
}
`;
}

function indexSource(project: DriverProject, names: ProjectNames): string {
  const target = names.template.suite ? "export { createConformanceTarget } from './conformance-target';\n" : '';
  return `import { definePlugin } from '@kern/sdk';
import { ${names.className} } from './driver';

export { ${names.className} } from './driver';
export type { ${names.className}Options } from './driver';
${target}
/**
 * ${names.pluginId}, in process: registers the \`${project.name}\` ${project.kind} driver. The
 * registration is disposed when the kernel deactivates the plugin.
 */
export const plugin = definePlugin({
  async activate(ctx) {
    const driver = new ${names.className}({ dataDir: ctx.dataDir, config: ctx.config });
    ctx.subscriptions.push(ctx.drivers.register('${project.kind}', '${project.name}', driver));
    ctx.logger.info({ driver: '${project.kind}/${project.name}' }, 'driver registered');
  },
});

export default plugin;
`;
}

function mainSource(project: DriverProject, names: ProjectNames): string {
  return `/**
 * ${names.pluginId}, out of process: the kernel runs \`node dist/main.js\` (the
 * manifest's kern.command) with KERN_DRIVER_SOCKET, KERN_PLUGIN_CONFIG and
 * KERN_PLUGIN_DATA_DIR set; serveDriver answers on the socket and stops on SIGTERM.
 */
import { DRIVER_ENV, errors, serveDriver } from '@kern/sdk';
import { ${names.className} } from './driver';

// package.json sits beside dist/ in the package.
const { version } = require('../package.json') as { version: string };

function configFromEnvironment(): Record<string, unknown> {
  const value: unknown = JSON.parse(process.env[DRIVER_ENV.pluginConfig] || '{}');
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw errors.invalid(DRIVER_ENV.pluginConfig, 'must be a JSON object (the plugin\\'s config section)');
  }
  return value as Record<string, unknown>;
}

async function main(): Promise<void> {
  const dataDir = process.env[DRIVER_ENV.pluginDataDir] || process.cwd();
  const driver = new ${names.className}({ dataDir, config: configFromEnvironment() });
  await serveDriver({ kind: '${project.kind}', name: '${project.name}', version, driver });
}

main().catch((e: unknown) => {
  process.stderr.write(\`${names.pluginId}: \${e instanceof Error ? e.message : String(e)}\\n\`);
  process.exit(1);
});
`;
}

function conformanceTargetSource(project: DriverProject, names: ProjectNames): string {
  const suite = names.template.suite!;
  const header = `import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ${suite.targetType} } from '@kern/sdk/testing';
import { ${names.className} } from './driver';
`;
  if (project.kind === 'runtime') {
    return `${header}
/** One data dir for the whole run: the suite's second instance must see what the first made. */
let shared: Promise<string> | undefined;

/**
 * The driver under test, for src/driver.test.ts and \`kern-sdk conformance runtime .\`
 * (which looks for this export in the package's entry). The suite calls it
 * once, and once more to check that a new driver instance adopts the running
 * containers by label, as after an agent restart.
 */
export async function createConformanceTarget(): Promise<${suite.targetType}> {
  shared ??= mkdtemp(join(tmpdir(), '${names.pluginId}-conformance-'));
  const dataDir = await shared;
  const driver = new ${names.className}({ dataDir, config: {} });
  return {
    driver,
    // TODO: an image the runtime runs, with busybox's sh, sleep, cat, nc, seq, touch and test on the PATH.
    image: 'kern/busybox:1',
    cleanup: async () => {
      // TODO: remove what the suite left behind (it labels everything kern.io/conformance-run).
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
`;
  }
  if (suite.scaffoldTarget) return header + suite.scaffoldTarget(names.className, names.pluginId);
  return `${header}
/**
 * A fresh, empty store for each test, for src/driver.test.ts and
 * \`kern-sdk conformance store .\` (which looks for this export in the
 * package's entry).
 */
export async function createConformanceTarget(): Promise<${suite.targetType}> {
  const dataDir = await mkdtemp(join(tmpdir(), '${names.pluginId}-conformance-'));
  const store = new ${names.className}({ dataDir, config: {} });
  return {
    store,
    // Add openSecond to run the suite's shared-data tests: another instance over the same data.
    // openSecond: async () => new ${names.className}({ dataDir, config: {} }),
    cleanup: async () => {
      await store.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
`;
}

function testSource(project: DriverProject, names: ProjectNames): string {
  const suite = names.template.suite;
  if (suite) {
    return `import { ${suite.describeFunction} } from '@kern/sdk/testing';
import { createConformanceTarget } from './conformance-target';

// The sdk's conformance suite for ${project.kind} drivers. Until the driver is written its
// tests fail with NotImplemented; make them pass one by one.
${suite.describeFunction}('${project.name}', createConformanceTarget);
`;
  }
  const first = names.template.methods[0];
  return `import { ${names.className} } from './driver';

// The sdk has no conformance suite for ${project.kind} drivers yet: test the contract of
// ${names.template.interfaceName} here, method by method.
describe('${names.className}', () => {
  it('is named ${project.name}', () => {
    expect(new ${names.className}({ dataDir: '/nonexistent', config: {} }).name).toBe('${project.name}');
  });

  it.todo('${first.name}: ${first.doc.replace(/'/g, "\\'")}');
});
`;
}
