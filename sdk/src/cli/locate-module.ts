import { KernelError } from '../errors';

/**
 * Resolves `request` (e.g. `jest/bin/jest`) from the first of `fromDirs`
 * that has it, as Node would from a file in that directory.
 * FailedPrecondition with `hint` when none does.
 */
export function locateModule(request: string, fromDirs: string[], hint: string): string {
  for (const dir of fromDirs) {
    try {
      return require.resolve(request, { paths: [dir] });
    } catch {
      // try the next one
    }
  }
  throw new KernelError('FailedPrecondition', `${request} not found from ${fromDirs.join(', ')}: ${hint}`, { code: 'KERN_ERR_SDK_TOOL_MISSING' });
}
