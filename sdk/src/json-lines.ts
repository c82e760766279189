/**
 * Calls `onLine` with each complete, non-empty line of a text stream of
 * newline-delimited JSON (watch replies, Docker's event stream), parsed.
 * A line that is not JSON goes to `onBadLine` (default: ignored).
 */
export function onJsonLines(
  stream: NodeJS.ReadableStream,
  onLine: (value: unknown) => void,
  onBadLine: (line: string, err: Error) => void = () => undefined,
): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer | string) => {
    buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        onBadLine(line, e as Error);
        continue;
      }
      onLine(value);
    }
  });
}
