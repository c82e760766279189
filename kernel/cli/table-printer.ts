/** Spaces between columns, and the narrowest a column may be (kubectl's tabwriter settings). */
const PADDING = 3;
const MIN_WIDTH = 6;

function width(s: string): number {
  return [...s].length;
}

/** Column widths (without padding) that fit the header and every row. */
export function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
}

/**
 * One line of a borderless table: every cell but the last is padded to its
 * column's width plus three spaces; the last is left as is (no trailing blanks).
 */
export function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => {
      if (i === cells.length - 1) return cell;
      const w = Math.max((widths[i] ?? 0) + PADDING, MIN_WIDTH);
      return cell + ' '.repeat(Math.max(w - width(cell), 1));
    })
    .join('');
}

/** A kubectl-like aligned table, header first. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = columnWidths(header, rows);
  return [formatRow(header, widths), ...rows.map((r) => formatRow(r, widths))];
}
