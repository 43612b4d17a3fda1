// RFC 4180 CSV (CRLF, quoted where needed), with the usual guard against spreadsheet formula injection:
// a text cell that starts with = + - @ is prefixed with an apostrophe. Numbers are written as they are.

export type CsvCell = string | number | boolean | null;

const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(v: CsvCell): string {
  if (v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = FORMULA.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(columns: readonly string[], rows: readonly Readonly<Record<string, CsvCell>>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c] ?? null)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
