/** Numbers as tables print them; no imports, so the report formats without loading the engine. */

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
