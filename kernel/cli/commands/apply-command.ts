import { Command } from 'commander';
import { isErrorKind, KernObject } from '@kern/sdk';
import { isUnreachable, usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { objectRef } from '../kind-resolver';
import { readManifests } from '../manifest-reader';

export interface ApplyOptions {
  filename: string[];
  recursive?: boolean;
  namespace?: string;
}

/** Failures that will fail every object alike: stop instead of repeating them. */
export function isFatal(e: unknown): boolean {
  return isUnreachable(e) || isErrorKind(e, 'Unauthenticated') || isErrorKind(e, 'Forbidden');
}

/**
 * Applies every object of every manifest through `state.apply`, in file
 * order. A bad file stops everything before anything is sent; a rejected
 * object is reported and the rest still go, then the command fails naming
 * the objects that did not apply.
 */
export async function runApply(ctx: CliContext, o: ApplyOptions): Promise<number> {
  const { objects, errors } = await readManifests(o.filename, { recursive: o.recursive });
  if (errors.length) {
    errors.forEach((e) => ctx.reportError(e));
    ctx.warn(`error: nothing applied: fix the manifest${errors.length > 1 ? 's' : ''} above first`);
    return 1;
  }
  if (objects.length === 0) throw usageError(`no objects in ${o.filename.join(', ')}`);
  const resolver = o.namespace ? await ctx.kinds() : undefined;
  const failed: string[] = [];
  for (const { object, source } of objects) {
    const ref = objectRef(object);
    try {
      const obj: KernObject = { ...object, metadata: { ...(object.metadata ?? {}) } } as KernObject;
      if (o.namespace && resolver?.find(obj.kind)?.namespaced) {
        if (obj.metadata.namespace && obj.metadata.namespace !== o.namespace) {
          throw usageError(`metadata.namespace is "${obj.metadata.namespace}" but -n says "${o.namespace}": make them agree`);
        }
        obj.metadata.namespace = o.namespace;
      }
      const result = await ctx.client.syscall('state.apply', { object: obj });
      ctx.out(`${objectRef(result.object ?? obj)} ${result.action}\n`);
    } catch (e) {
      if (isFatal(e)) throw e;
      ctx.reportError(e, `${ref} (${source})`);
      failed.push(ref);
    }
  }
  if (failed.length) {
    ctx.warn(`error: ${failed.length} of ${objects.length} object${objects.length > 1 ? 's' : ''} failed to apply: ${failed.join(', ')}`);
    return 1;
  }
  return 0;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function applyCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('apply')
    .description('create or update objects from YAML or JSON manifests')
    .requiredOption('-f, --filename <file>', 'manifest file, directory, or - for stdin (repeatable)', collect, [])
    .option('-R, --recursive', 'also read manifests in subdirectories')
    .option('-n, --namespace <ns>', 'namespace for namespaced objects that name none')
    .action(async (opts: ApplyOptions, cmd: Command) => {
      await run((ctx) => runApply(ctx, opts), cmd);
    });
}
