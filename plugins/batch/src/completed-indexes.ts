/**
 * The compact text form of a set of completion indexes, as Kubernetes writes
 * `status.completedIndexes`: sorted, runs of two or more consecutive
 * indexes as `a-b`, joined by commas (`0-2,4`).
 */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].filter((i) => Number.isInteger(i) && i >= 0).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Parses {@link formatIndexes} output back into a set; ignores malformed parts. */
export function parseIndexes(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let i = from; i <= to; i++) out.add(i);
  }
  return out;
}
