/** Numbers, text tables and commands as the terminal and the report print them; no engine imports, so the report formats without loading libtorch. */
import { quote } from 'shell-quote';

/** A count with thousands separators: 167,202. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** FLOPs with a unit: 201.26 M. */
export function formatFlops(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

/** A fraction as a percentage with two decimals (0.9025 -> "90.25%"); '-' for a missing or non-finite value. */
export function formatPercent(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(2)}%`;
}

/** A duration as people say it: 45 s, 7 min 44 s, 2 h 05 min. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Options of textTableLines and formatTextTable. */
export interface TextTableOptions {
  /** Columns aligned to the left (words); the others align to the right (numbers). Default: the first. */
  left?: number[];
}

/** The lines of a text table: every column padded to its widest cell, two spaces between columns. */
export function textTableLines(
  header: string[],
  rows: string[][],
  options: TextTableOptions = {},
): {
  /** Formats one row of cells with the table's column widths and alignment. */
  line: (cells: string[]) => string;
  header: string;
  rows: string[];
  width: number;
} {
  const left = new Set(options.left ?? [0]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return { line, header: line(header), rows: rows.map(line), width: widths.reduce((a, b) => a + b + 2, -2) };
}

/** A text table with a rule of dashes under its header. */
export function formatTextTable(header: string[], rows: string[][], options: TextTableOptions = {}): string {
  const table = textTableLines(header, rows, options);
  return [table.header, '-'.repeat(table.width), ...table.rows].join('\n');
}

/** A command line whose words paste back into a shell as they are: paths with spaces, quotes or non-ASCII letters quoted. */
export function shellCommand(words: string[]): string {
  return quote(words);
}
