import { randomBytes } from 'node:crypto';
import { ErrorKind, isKernelError } from '../errors';

/** Helpers shared by the driver conformance suites (not exported from `@kern/sdk/testing`). */

/** What names of things a suite creates start with (then the run id), so leftovers are easy to find. */
export const CONFORMANCE_NAME_PREFIX = 'kconf-';

export const shortId = (): string => randomBytes(4).toString('hex');

/** A lowercase id for one run of a suite, usable in bucket, volume and pod names. */
export const newRunId = (): string => `${Date.now().toString(36)}-${shortId()}`;

/** The kind of what `p` rejected with, or a description of why there is none. */
export async function failureOf(p: Promise<unknown>): Promise<ErrorKind | string> {
  try {
    await p;
  } catch (err) {
    return isKernelError(err) ? err.kind : `not a KernelError: ${String(err)}`;
  }
  return 'no error: the call succeeded';
}
