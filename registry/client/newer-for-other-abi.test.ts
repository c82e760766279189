import { newerForOtherAbi } from './install';
import { PluginDocument, PluginVersionInfo } from './registry-api';

const v = (version: string, kernelAbi: string, yanked = false): PluginVersionInfo => ({
  version, kernelAbi, yanked, name: 'x', description: '', requires: {}, provides: [], syscalls: [], digest: 'd', size: 1,
  signature: null, publishedAt: '2026-01-01T00:00:00Z', downloads: 0,
});

describe('newerForOtherAbi', () => {
  const doc: PluginDocument = {
    id: 'raw', publisher: 'acme', downloads: 0,
    versions: [v('0.4.0', '^9.0.0', true), v('0.3.0', '^9.0.0'), v('0.2.0', '^2.0.0'), v('0.1.0', '^1.0.0')],
  };

  it('names the newest version, not yanked, that needs another ABI', () => {
    expect(newerForOtherAbi(new Map([['raw', doc]]), [{ id: 'raw', version: '0.1.0' }], '1.0.0'))
      .toEqual([{ id: 'raw', version: '0.3.0', kernelAbi: '^9.0.0' }]);
  });

  it('says nothing when the chosen version is the newest this ABI could use and nothing newer exists', () => {
    expect(newerForOtherAbi(new Map([['raw', doc]]), [{ id: 'raw', version: '0.3.0' }], '9.1.0')).toEqual([]);
    expect(newerForOtherAbi(new Map(), [{ id: 'raw', version: '0.1.0' }], '1.0.0')).toEqual([]);
  });
});
