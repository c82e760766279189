import { isKernelError } from '../errors';
import { checkDriverKind, checkDriverName, pascalCase } from './names';

function fieldOfFailure(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isKernelError(e) && e.kind === 'Invalid' ? e.field : `unexpected: ${String(e)}`;
  }
  return undefined;
}

describe('driver names and kinds', () => {
  it.each(['raw-exec', 'docker', 'etcd3', 'a-b-c'])('%s is a driver name', (name) => {
    expect(checkDriverName(name)).toBe(name);
  });

  it.each(['', 'Raw', 'raw_exec', '-raw', 'raw-', 'raw--exec', '3d', 'x'.repeat(64)])('%j is not', (name) => {
    expect(fieldOfFailure(() => checkDriverName(name))).toBe('NAME');
  });

  it.each(['store', 'runtime', 'network', 'volume', 'objectstore'])('%s is a driver kind', (kind) => {
    expect(checkDriverKind(kind)).toBe(kind);
  });

  it('anything else is not a kind', () => {
    expect(fieldOfFailure(() => checkDriverKind('scheduler'))).toBe('KIND');
  });

  it.each([['raw-exec', 'RawExec'], ['docker', 'Docker'], ['s3-compat-v2', 'S3CompatV2']])('pascalCase(%s) is %s', (name, pascal) => {
    expect(pascalCase(name)).toBe(pascal);
  });
});
