import * as semver from 'semver';
import { KernelError } from '@kern/sdk';
import { PLUGIN_ID_PATTERN } from '../../kernel/plugins/manifest';
import { CLIENT_ERROR_CODES } from './client-errors';

/** A plugin asked for on the command line: `NAME[@RANGE]`. */
export interface PluginRequest {
  id: string;
  /** A semver range; `*` when none was given. */
  range: string;
}

/** Parses `NAME[@RANGE]` (`web`, `web@1.2.3`, `web@^1.2`); Invalid naming the argument otherwise. */
export function parsePluginRequest(arg: string): PluginRequest {
  const at = arg.indexOf('@');
  const id = at < 0 ? arg : arg.slice(0, at);
  const range = at < 0 ? '*' : arg.slice(at + 1).trim();
  assertPluginId(id, arg);
  if (range === '' || semver.validRange(range) === null) {
    throw new KernelError('Invalid', `${JSON.stringify(arg)}: "${range}" is not a semver range (examples: ${id}@1.2.3, ${id}@^1.2.0)`, { field: arg, code: CLIENT_ERROR_CODES.badRequest });
  }
  return { id, range };
}

/**
 * Plugin ids become directory names and URL segments, so every id (from the
 * command line, the registry or a lock file) is checked against the
 * manifest's pattern before use.
 */
export function assertPluginId(id: string, source = id): void {
  if (!PLUGIN_ID_PATTERN.test(id)) {
    throw new KernelError('Invalid', `${JSON.stringify(source)}: "${id}" is not a plugin id (lower-case kebab-case, e.g. runtime-docker)`, { field: source, code: CLIENT_ERROR_CODES.badRequest });
  }
}
