import { StreamInstallProgress } from './install-progress';

function stream(isTTY: boolean) {
  const s = { text: '', isTTY, write: (chunk: string) => { s.text += chunk; return true; } };
  return s;
}

describe('StreamInstallProgress', () => {
  it('redraws one line per package on a terminal, at most ten times a second', () => {
    const out = stream(true);
    let now = 0;
    const p = new StreamInstallProgress(out, () => now);
    p.download('web', '1.0.0', 1024, 4096);
    now += 50;
    p.download('web', '1.0.0', 2048, 4096); // too soon: skipped
    now += 100;
    p.download('web', '1.0.0', 3072, 4096);
    p.downloaded('web', '1.0.0', 4096);
    p.info('verified web 1.0.0');
    expect(out.text.split('\r').filter(Boolean)).toEqual([
      'downloading web 1.0.0: 1.0 KiB of 4.0 KiB (25%)\u001b[K',
      'downloading web 1.0.0: 3.0 KiB of 4.0 KiB (75%)\u001b[K',
      'downloading web 1.0.0: 4.0 KiB of 4.0 KiB (100%)\u001b[K\nverified web 1.0.0\n',
    ]);
  });

  it('ends an open progress line before a message', () => {
    const out = stream(true);
    const p = new StreamInstallProgress(out, () => 0);
    p.download('web', '1.0.0', 10, 100);
    p.info('warning: something');
    expect(out.text).toBe('\rdownloading web 1.0.0: 10 B of 100 B (10%)\u001b[K\nwarning: something\n');
  });

  it('prints a line per finished package elsewhere, and quarters of big ones', () => {
    const out = stream(false);
    const p = new StreamInstallProgress(out);
    p.download('web', '1.0.0', 10, 100);
    p.downloaded('web', '1.0.0', 100);
    const MiB = 1024 * 1024;
    for (let n = MiB; n <= 8 * MiB; n += MiB) p.download('big', '2.0.0', n, 8 * MiB);
    p.downloaded('big', '2.0.0', 8 * MiB);
    expect(out.text).toBe([
      'downloaded web 1.0.0 (100 B)',
      'downloading big 2.0.0: 2.0 MiB of 8.0 MiB (25%)',
      'downloading big 2.0.0: 4.0 MiB of 8.0 MiB (50%)',
      'downloading big 2.0.0: 6.0 MiB of 8.0 MiB (75%)',
      'downloaded big 2.0.0 (8.0 MiB)',
      '',
    ].join('\n'));
  });
});
