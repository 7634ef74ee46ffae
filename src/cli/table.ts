// Plain-text tables whose columns are as wide as their widest cell, so rows line up whatever
// their contents (task states, connection names and commands vary in length).

/** A column: its heading, and whether its cells are numbers (right-aligned). */
export interface Column {
  title: string;
  numeric?: boolean;
}

// Terminal columns a string takes: wide (East Asian) characters count two, combining marks none.
function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (/\p{Mn}|\p{Me}|\p{Cf}/u.test(ch)) continue;
    w +=
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x1f300 && c <= 0x1faff) ||
      (c >= 0x20000 && c <= 0x3fffd)
        ? 2
        : 1;
  }
  return w;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}

/** Lines of a table: a heading row, then one row per entry; the last column is not padded. */
export function table(columns: Column[], rows: string[][]): string[] {
  const widths = columns.map((c, i) =>
    Math.max(width(c.title), ...rows.map((r) => width(r[i] ?? ''))),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 && !columns[i]?.numeric
          ? cell
          : pad(cell, widths[i] ?? 0, Boolean(columns[i]?.numeric)),
      )
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title.toUpperCase())), ...rows.map((r) => line(r))];
}
