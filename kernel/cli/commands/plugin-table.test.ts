import { pluginTable } from './plugin-command';

describe('pluginTable -o wide', () => {
  it('shows a driver process with its pid and restarts, or how it fares while down', () => {
    const base = { version: '1.0.0', state: 'active', provides: [{ kind: 'runtime', name: 'x' }], description: 'd' };
    expect(pluginTable([
      { id: 'up', ...base, process: { state: 'running', pid: 4242, restarts: 1 } },
      { id: 'down', ...base, process: { state: 'restarting', restarts: 3 } },
      { id: 'inside', ...base },
    ], true)).toEqual([
      'ID       VERSION   STATE    PROVIDES    PROCESS                  DESCRIPTION',
      'up       1.0.0     active   runtime/x   pid 4242, 1 restart      d',
      'down     1.0.0     active   runtime/x   restarting, 3 restarts   d',
      'inside   1.0.0     active   runtime/x   in kernel                d',
    ]);
  });
});
