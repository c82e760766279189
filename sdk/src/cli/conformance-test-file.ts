import type { ConformanceSuite } from './driver-kinds';
import type { OutOfProcessOptions } from './conformance-targets';

/** Where the generated test file finds its parts (absolute paths). */
export interface TestFileModules {
  /** `@kern/sdk/testing` of the kern-sdk that runs. */
  testing: string;
  /** This package's conformance-targets module. */
  targets: string;
}

const literal = (value: unknown) => JSON.stringify(value);

/**
 * The jest test file (CommonJS) that runs `suite` against the module at
 * `entry`, loaded in process: its `createConformanceTarget()` is the
 * factory and its optional `conformanceOptions` export the suite's options.
 */
export function inProcessTestFile(suite: ConformanceSuite, label: string, entry: string, modules: TestFileModules): string {
  return `// Written by kern-sdk conformance for one run, then removed.
const testing = require(${literal(modules.testing)});
const targets = require(${literal(modules.targets)});
const target = require(${literal(entry)});

testing.${suite.describeFunction}(${literal(label)}, targets.inProcessFactory(target, ${literal(entry)}), target.conformanceOptions);
`;
}

/** The jest test file that runs `suite` against a driver process started from `options.command`. */
export function outOfProcessTestFile(suite: ConformanceSuite, label: string, options: OutOfProcessOptions, modules: TestFileModules): string {
  return `// Written by kern-sdk conformance for one run, then removed.
const testing = require(${literal(modules.testing)});
const targets = require(${literal(modules.targets)});

testing.${suite.describeFunction}(${literal(label)}, targets.outOfProcessFactory(${JSON.stringify(options, null, 2)}));
`;
}
