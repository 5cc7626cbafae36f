/**
 * Call records as CSV (RFC 4180: comma-separated, CRLF line ends, a field quoted when it holds a comma,
 * a quote or a line break, quotes doubled), one header row of field names, and the parser that reads such
 * a file back into records (used by the tests; usable by anyone importing an export).
 */
import { COLUMNS, cellOf, valueOf, type CallRecord } from './record.js';

const quote = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The header row and one row per record. */
export function recordsToCsv(records: readonly CallRecord[]): string {
  const lines = [COLUMNS.map((c) => c.key).join(',')];
  for (const r of records) lines.push(COLUMNS.map((c) => quote(cellOf(c.kind, r[c.key]))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Split CSV text into rows of cells (quoted fields may hold commas, quotes and line breaks). */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Read an export back into records; columns are found by their header names. */
export function csvToRecords(text: string): CallRecord[] {
  const [header, ...rows] = parseCsvRows(text);
  if (!header) return [];
  const at = new Map(header.map((h, i) => [h, i]));
  return rows.map((cells) => {
    const r: Record<string, unknown> = {};
    for (const c of COLUMNS) {
      const i = at.get(c.key);
      r[c.key] = valueOf(c.kind, i === undefined ? '' : (cells[i] ?? ''));
    }
    return r as unknown as CallRecord;
  });
}
