import { formatBytes } from '../../kernel/cli/commands/image-command';

/** What a long plugin operation tells as it goes (the CLI prints it on stderr). */
export interface InstallProgress {
  /** A step or a warning, one line. */
  info(text: string): void;
  /** Bytes of one package received so far. */
  download(id: string, version: string, received: number, total: number): void;
  /** One package fully downloaded. */
  downloaded(id: string, version: string, bytes: number): void;
}

/** Says nothing (tests, --quiet callers). */
export const silentProgress: InstallProgress = { info: () => undefined, download: () => undefined, downloaded: () => undefined };

/** A redrawn line is redrawn at most this often. */
const REDRAW_MS = 100;
/** Packages at least this big get a line per quarter when stderr is not a terminal. */
const QUARTERS_MIN_BYTES = 1024 * 1024;

/**
 * Progress on a stream (stderr): on a terminal one line per package,
 * redrawn in place as bytes arrive; elsewhere a line when each package is
 * done (and per quarter for big ones), so logs stay short.
 */
export class StreamInstallProgress implements InstallProgress {
  private open = false;
  private lastDraw = 0;
  private lastQuarter = 0;

  constructor(private readonly stream: { write(s: string): unknown; isTTY?: boolean }, private readonly now: () => number = Date.now) {}

  info(text: string): void {
    this.endLine();
    this.stream.write(`${text}\n`);
  }

  download(id: string, version: string, received: number, total: number): void {
    if (this.stream.isTTY) {
      const t = this.now();
      if (this.open && t - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = t;
      this.open = true;
      this.stream.write(`\r${line(id, version, received, total)}\u001b[K`);
      return;
    }
    if (total < QUARTERS_MIN_BYTES) return;
    const quarter = Math.floor((received / total) * 4);
    if (quarter > this.lastQuarter && received < total) {
      this.lastQuarter = quarter;
      this.stream.write(`${line(id, version, received, total)}\n`);
    }
  }

  downloaded(id: string, version: string, bytes: number): void {
    this.lastQuarter = 0;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line(id, version, bytes, bytes)}\u001b[K\n`);
      this.open = false;
    } else {
      this.stream.write(`downloaded ${id} ${version} (${formatBytes(bytes)})\n`);
    }
  }

  private endLine(): void {
    if (this.open) this.stream.write('\n');
    this.open = false;
  }
}

function line(id: string, version: string, received: number, total: number): string {
  const pct = total ? Math.floor((received / total) * 100) : 100;
  return `downloading ${id} ${version}: ${formatBytes(received)} of ${formatBytes(total)} (${pct}%)`;
}
