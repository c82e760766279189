import { CliContext } from '../cli-context';
import { UploadProgress, formatBytes } from './image-command';

function context(tty: boolean) {
  let stderr = '';
  const ctx = new CliContext({}, { stdout: { write: () => undefined }, stderr: { write: (s: string | Uint8Array) => (stderr += s), isTTY: tty }, env: {} });
  return { ctx, stderr: () => stderr };
}

describe('formatBytes', () => {
  it.each([[0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [5 * 1024 * 1024 + 512 * 1024, '5.5 MiB'], [3 * 1024 ** 3, '3.0 GiB']])('%d is %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});

describe('UploadProgress', () => {
  const MiB = 1024 * 1024;

  it('stays quiet for small files', () => {
    const { ctx, stderr } = context(true);
    const p = new UploadProgress(ctx, MiB);
    p.update(MiB);
    p.finish(MiB);
    expect(stderr()).toBe('');
  });

  it('redraws one line on a terminal, at most four times a second', () => {
    const { ctx, stderr } = context(true);
    let now = 1000;
    const p = new UploadProgress(ctx, 16 * MiB, () => now);
    p.update(4 * MiB);
    now += 100;
    p.update(8 * MiB); // too soon: skipped
    now += 200;
    p.update(16 * MiB);
    p.finish(16 * MiB);
    expect(stderr().split('\r').filter(Boolean)).toEqual([
      'sent 4.0 MiB of 16.0 MiB (25%)\u001b[K',
      'sent 16.0 MiB of 16.0 MiB (100%), importing\u001b[K',
      'sent 16.0 MiB of 16.0 MiB (100%), importing\u001b[K\n',
    ]);
  });

  it('prints a line per quarter elsewhere', () => {
    const { ctx, stderr } = context(false);
    const p = new UploadProgress(ctx, 40 * MiB);
    for (let sent = 0; sent <= 40 * MiB; sent += 2 * MiB) p.update(sent);
    p.finish(40 * MiB);
    expect(stderr()).toBe([
      'sent 10.0 MiB of 40.0 MiB (25%)', 'sent 20.0 MiB of 40.0 MiB (50%)', 'sent 30.0 MiB of 40.0 MiB (75%)', 'sent 40.0 MiB of 40.0 MiB (100%), importing', '',
    ].join('\n'));
  });
});
