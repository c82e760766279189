import { join } from 'node:path';
import { KernelError, PluginManifest, isErrorKind } from '@kern/sdk';
import { resolveEntry } from './plugin-host';

const FIXTURES = join(__dirname, '../../test/fixtures/plugins');

function manifest(over: Partial<PluginManifest>): PluginManifest {
  return { id: 'p', kernelAbi: '^1.0.0', name: 'p', version: '1.0.0', description: '', provides: [], requires: {}, syscalls: [], ...over };
}

describe('resolveEntry', () => {
  it('loads the entry module in process', () => {
    expect(resolveEntry(manifest({ entry: 'index.js' }), join(FIXTURES, 'alpha'))).toEqual({ mode: 'in-process', path: join(FIXTURES, 'alpha', 'index.js') });
  });

  it.each<[string, string[], { file: string; args: string[] }]>([
    ['node is the node running the kernel', ['node', 'dist/main.js'], { file: process.execPath, args: ['dist/main.js'] }],
    ['a relative program is taken from the package', ['./bin/driver', '--flag'], { file: '/pkg/bin/driver', args: ['--flag'] }],
    ['a bare name is looked up on the PATH', ['kern-driver-x'], { file: 'kern-driver-x', args: [] }],
    ['an absolute program stays as it is', ['/usr/bin/python3', 'driver.py'], { file: '/usr/bin/python3', args: ['driver.py'] }],
  ])('runs kern.command out of process, even with an entry: %s', (_what, command, want) => {
    const m = manifest({ entry: 'dist/index.js', command, provides: [{ kind: 'runtime', name: 'x' }] });
    expect(resolveEntry(m, '/pkg')).toEqual({ mode: 'out-of-process', ...want });
  });

  it('names the missing entry module', () => {
    let err: KernelError | undefined;
    try {
      resolveEntry(manifest({ entry: 'dist/nope.js' }), join(FIXTURES, 'alpha'));
    } catch (e) {
      err = e as KernelError;
    }
    expect(isErrorKind(err, 'FailedPrecondition')).toBe(true);
    expect(err?.message).toContain('entry dist/nope.js not found');
  });
});
