/**
 * Reads the text back out of a PDF that pdfkit wrote, without poppler: its
 * deflated content streams (one per page), each text object's position
 * (Tm), font size (Tf) and the hex strings of its TJ array. Good for
 * pdfkit's own output with the built-in fonts (WinAnsi, one byte a
 * character), not for PDFs in general.
 */
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export interface PdfTextRun {
  /** 0-based page, counting the content streams that draw text. */
  page: number;
  /** Where the text starts, in PDF points from the page's bottom left corner (y is the baseline). */
  x: number;
  y: number;
  size: number;
  text: string;
}

/** Every piece of text in drawing order, with its page, position and font size. */
export function pdfTextRuns(path: string): PdfTextRun[] {
  const raw = readFileSync(path, 'latin1');
  const runs: PdfTextRun[] = [];
  let page = 0;
  for (const [, body] of raw.matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
    let content: string;
    try {
      content = inflateSync(Buffer.from(body!, 'latin1')).toString('latin1');
    } catch {
      continue; // not a deflated stream (a font)
    }
    if (!/\] TJ/.test(content)) continue; // an image, or a page without text
    for (const [, object] of content.matchAll(/\bBT\b([\s\S]*?)\bET\b/g)) {
      const tm = /([-\d.]+) ([-\d.]+) Tm/.exec(object!);
      const tf = /\/\S+ ([-\d.]+) Tf/.exec(object!);
      for (const [, array] of object!.matchAll(/\[(.*?)\] TJ/g)) {
        const text = [...array!.matchAll(/<([0-9a-f]*)>/g)].map(([, hex]) => Buffer.from(hex!, 'hex').toString('latin1')).join('');
        runs.push({ page, x: Number(tm?.[1] ?? NaN), y: Number(tm?.[2] ?? NaN), size: Number(tf?.[1] ?? NaN), text });
      }
    }
    page += 1;
  }
  return runs;
}

/** The text lines of a pdfkit PDF, in drawing order: its deflated content streams' TJ strings (hex, kerning numbers between). */
export function pdfTextLines(path: string): string[] {
  return pdfTextRuns(path).map((r) => r.text);
}
