// CSV as RFC 4180 wants it, and no formula a spreadsheet would run.
import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from './csv.js';

describe('toCsv', () => {
  it('writes a header and CRLF rows, quoting commas, quotes and line breaks', () => {
    expect(toCsv(['a', 'b', 'c'], [{ a: 'x,y', b: 'say "hi"', c: null }, { a: 'line\nbreak', b: 3, c: true }])).toBe(
      'a,b,c\r\n"x,y","say ""hi""",\r\n"line\nbreak",3,true\r\n',
    );
  });

  it('defuses text that a spreadsheet would read as a formula, but not negative numbers', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell(-5)).toBe('-5');
  });
});
