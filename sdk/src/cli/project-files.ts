import { runsOutOfProcess } from '../oop/driver-methods';
import { DriverProject, ProjectNames, projectNames, sourceFiles } from './driver-project';

/** Every file of a new driver project, by path relative to its directory. */
export function projectFiles(project: DriverProject): Record<string, string> {
  const names = projectNames(project);
  return {
    'package.json': json(packageJson(project, names)),
    'tsconfig.json': json(tsconfig()),
    '.gitignore': 'node_modules/\ndist/\n*.kpkg\n*.kpkg.sig\npublisher.key\n',
    'README.md': readme(project, names),
    ...sourceFiles(project),
  };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

function packageJson(project: DriverProject, names: ProjectNames): Record<string, unknown> {
  const scripts: Record<string, string> = {
    build: 'tsc -p tsconfig.json',
    test: 'jest',
  };
  if (names.template.suite) scripts.conformance = `npm run build && kern-sdk conformance ${project.kind} .`;
  scripts.pack = 'npm run build && kern plugin pack .';
  return {
    name: names.packageName,
    version: '0.1.0',
    description: `The ${project.name} ${project.kind} driver for Kern`,
    license: 'Apache-2.0',
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    files: ['dist', 'README.md'],
    scripts,
    kern: {
      id: names.pluginId,
      kernelAbi: '^1.0.0',
      provides: [{ kind: project.kind, name: project.name }],
      requires: {},
      syscalls: [],
      command: ['node', 'dist/main.js'],
      config: {},
    },
    dependencies: {
      '@kern/sdk': project.sdkSpec,
    },
    // The sdk's peers are here for building and testing only: installed, the
    // plugin uses the kernel's sdk, which brings its own.
    devDependencies: {
      '@types/jest': '^29.5.0',
      '@types/node': '^20.0.0',
      jest: '^29.7.0',
      'reflect-metadata': '^0.2.0',
      'ts-jest': '^29.4.0',
      tsyringe: '^4.8.0',
      typescript: '^5.9.0',
    },
    jest: {
      preset: 'ts-jest',
      testEnvironment: 'node',
      roots: ['<rootDir>/src'],
      testTimeout: 30000,
    },
  };
}

function tsconfig(): Record<string, unknown> {
  return {
    compilerOptions: {
      target: 'ES2022',
      // node16 resolution reads package.json "exports" (for @kern/sdk/testing); the output stays CommonJS.
      module: 'node16',
      moduleResolution: 'node16',
      // Each file compiles on its own (ts-jest needs it with node16).
      isolatedModules: true,
      lib: ['ES2022'],
      strict: true,
      esModuleInterop: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      declaration: true,
      sourceMap: true,
      skipLibCheck: true,
      rootDir: 'src',
      outDir: 'dist',
      types: ['node', 'jest'],
    },
    include: ['src/**/*.ts'],
    exclude: ['src/**/*.test.ts'],
  };
}

function readme(project: DriverProject, names: ProjectNames): string {
  const suite = names.template.suite;
  const testing = suite
    ? `\`npm test\` runs the sdk's ${project.kind} conformance suite (\`${suite.describeFunction}\`
from \`@kern/sdk/testing\`) against \`createConformanceTarget()\` in
\`src/conformance-target.ts\`. Every test fails with NotImplemented until the driver
does its part. The same suite from the command line, against the build:

\`\`\`sh
npm run build
kern-sdk conformance ${project.kind} .${runsOutOfProcess(project.kind) ? `                         # in process: the entry's createConformanceTarget()
kern-sdk conformance ${project.kind} . --command "node dist/main.js"   # out of process, over the driver socket` : ''}
\`\`\``
    : `The sdk has no conformance suite for ${project.kind} drivers yet: \`npm test\` runs the
tests in \`src/driver.test.ts\`; add one per method of \`${names.template.interfaceName}\`.`;
  return `# ${names.pluginId}

## Name

\`${names.pluginId}\` — the \`${project.name}\` ${project.kind} driver (\`kind: ${project.kind}\`, \`name: ${project.name}\`).

## Description

TODO: what it runs on and how it maps the \`${names.template.interfaceName}\` contract.

- \`src/driver.ts\` — \`${names.className}\`, every method of \`${names.template.interfaceName}\` (from
  \`@kern/sdk\`) stubbed to throw NotImplemented.
- \`src/index.ts\` — the plugin entry: the kernel loads it in process and it registers the driver.
- \`src/main.ts\` — the out-of-process entry (\`kern.command\`): \`serveDriver\` on the socket the
  kernel names in \`KERN_DRIVER_SOCKET\`.

The kernel loads a plugin in process when its manifest has an entry (\`main\`);
remove \`main\` from package.json to have it run \`kern.command\` instead.

## Configuration

The \`plugins.${names.pluginId}\` section of the kernel config reaches the driver as
\`options.config\` (out of process: JSON in \`KERN_PLUGIN_CONFIG\`). TODO: describe the
settings and their defaults in \`kern.config\` of package.json and here.

## Testing

${testing}

## Packaging and publishing

\`\`\`sh
npm run pack                                   # build, then kern plugin pack . → ${names.pluginId}-0.1.0.kpkg
kern plugin keygen --out ~/.kern-keys          # once: publisher.key (keep it secret) and publisher.pub
kern plugin sign ${names.pluginId}-0.1.0.kpkg --key ~/.kern-keys/publisher.key
kern registry publish ${names.pluginId}-0.1.0.kpkg --registry http://registry:7080 --token $KERN_REGISTRY_TOKEN
kern plugin install ${names.pluginId}             # on a kernel that trusts your publisher.pub
\`\`\`

A package holds package.json, README.md and dist/ only: the kernel provides
\`@kern/sdk\`; bundle any other runtime dependency into dist/.

## Limits

TODO.
`;
}
