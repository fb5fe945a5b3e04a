/**
 * Renders a ReportDocument: HTML with every figure's SVG inline (it opens
 * offline, nothing external), and an A4 PDF with pdfkit, figures embedded as
 * the PNGs rendered for them and code listings in Courier with numbered lines.
 */
import PDFDocument from 'pdfkit';

import { writeFileAtomic } from '../io/atomic.js';

import type { RenderedChart } from './charts.js';
import type { Block, ReportDocument, Section } from './document.js';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderHtml(doc: ReportDocument): string {
  const body = doc.sections.map((section) => {
    const blocks = section.blocks.map((block) => {
      switch (block.kind) {
        case 'paragraph':
          return `<p>${escapeHtml(block.text)}</p>`;
        case 'list':
          return `<ul>${block.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
        case 'table':
          return (
            `<table><caption>Table ${block.number}. ${escapeHtml(block.caption)}</caption>` +
            `<thead><tr>${block.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
            `<tbody>${block.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
          );
        case 'figure':
          return (
            `<figure id="figure-${block.number}">${block.chart.svg}` +
            `<figcaption>Figure ${block.number}. ${escapeHtml(block.chart.caption)}</figcaption></figure>`
          );
        case 'listing':
          return (
            `<figure class="listing" id="listing-${block.number}">` +
            `<figcaption>Listing ${block.number}. ${escapeHtml(block.caption)}</figcaption>` +
            // One block per line, its number in a span the reader's selection skips, so copying gives just the code.
            `<pre><code>${block.lines.map((l, i) => `<span class="line"><span class="ln">${i + 1}</span>${escapeHtml(l)}</span>`).join('')}</code></pre></figure>`
          );
      }
    });
    return `<section><h2>${escapeHtml(section.title)}</h2>${blocks.join('\n')}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.title)}</title>
<style>
body { font-family: "DejaVu Sans", sans-serif; max-width: 960px; margin: 2em auto; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } .subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { caption-side: top; text-align: left; font-weight: bold; margin-bottom: 0.4em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; } th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; } figcaption { font-size: 0.9em; color: #333; margin-top: 0.3em; }
code { background: #f3f3f3; padding: 0 0.2em; }
figure.listing pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.8em; line-height: 1.35; tab-size: 4;
  background: #f8f8f8; border: 1px solid #e3e3e3; padding: 0.5em 0.5em 0.5em 0; margin: 0.4em 0 0; }
figure.listing code { background: none; padding: 0; }
figure.listing .line { display: block; position: relative; min-height: 1.35em; padding-left: 6ch; white-space: pre-wrap; overflow-wrap: anywhere; }
figure.listing .ln { position: absolute; left: 0; width: 4.5ch; text-align: right; color: #999; user-select: none; -webkit-user-select: none; }
figure.listing figcaption { font-weight: bold; margin: 0; }
</style></head>
<body><h1>${escapeHtml(doc.title)}</h1><p class="subtitle">${escapeHtml(doc.subtitle)}</p>
${body.join('\n')}
</body></html>
`;
}

const MARGIN = 50;

/** Listings in the PDF: built-in Courier at this size, this many columns to a tab stop. */
const LISTING_FONT_SIZE = 7;
const LISTING_LINE_HEIGHT = LISTING_FONT_SIZE * 1.25;
const TAB_SIZE = 4;

/** Replaces each tab by spaces up to the next tab stop. */
export function expandTabs(line: string, tabSize = TAB_SIZE): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(tabSize - (out.length % tabSize)) : ch;
  return out;
}

// The characters pdfkit's built-in fonts can draw (WinAnsiEncoding); anything else would come out as garbage.
const WIN_ANSI_EXTRA = new Set([
  ...'\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178',
]);
function winAnsi(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out += (code >= 0x20 && code < 0x7f) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(ch) ? ch : '?';
  }
  return out;
}

/**
 * Splits a line of code into pieces that each fit the width (the first piece
 * firstWidth, the continuations restWidth), without dropping or reordering a
 * character: the pieces joined are the line. It breaks after a space or
 * punctuation near the end of what fits, and mid-token where there is none.
 */
export function wrapCode(line: string, firstWidth: number, restWidth: number, measure: (text: string) => number): string[] {
  const pieces: string[] = [];
  let rest = line;
  let width = firstWidth;
  while (rest.length > 0 && measure(rest) > width) {
    // The longest prefix that fits (at least one character, so every pass makes progress).
    let lo = 1;
    let hi = rest.length - 1;
    let fits = 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (measure(rest.slice(0, mid)) <= width) {
        fits = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    let cut = fits;
    for (let i = fits; i > Math.max(1, Math.floor(fits * 0.6)); i--) {
      if (/[\s,;({[]/.test(rest[i - 1]!) && !/\s/.test(rest[i] ?? '')) {
        cut = i;
        break;
      }
    }
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
    width = restWidth;
  }
  pieces.push(rest);
  return pieces;
}

/** Writes the PDF (atomically: a full disk leaves the old file, not a torn one) and resolves with its page count. */
export function renderPdf(doc: ReportDocument, path: string): Promise<number> {
  const pdf = new PDFDocument({ size: 'A4', margin: MARGIN, bufferPages: true, info: { Title: doc.title, Creator: 'skipstudio' } });
  const written = writeWhenEnded(pdf, path);
  const layout = new PdfLayout(pdf);
  drawTitle(layout, doc);
  for (const section of doc.sections) drawSection(layout, section);
  const pages = drawFooters(layout, doc.title);
  pdf.end();
  return written.then(() => pages);
}

/** Collects the bytes pdfkit emits and writes them to path when the document ends; resolves once the file is written. */
function writeWhenEnded(pdf: PDFKit.PDFDocument, path: string): Promise<void> {
  const chunks: Buffer[] = [];
  return new Promise<void>((resolve, reject) => {
    pdf.on('data', (chunk: Buffer) => chunks.push(chunk));
    pdf.on('end', () => {
      try {
        writeFileAtomic(path, Buffer.concat(chunks));
        resolve();
      } catch (error) {
        reject(error);
      }
    });
  });
}

type TableBlock = Extract<Block, { kind: 'table' }>;
type FigureBlock = Extract<Block, { kind: 'figure' }>;
type ListingBlock = Extract<Block, { kind: 'listing' }>;

/** The PDF being drawn, its text width, and the rules every block keeps to: where a page ends, when to break it, how captions look. */
class PdfLayout {
  /** The text width (every page is A4). */
  readonly width: number;
  constructor(readonly pdf: PDFKit.PDFDocument) {
    this.width = pdf.page.width - 2 * MARGIN;
  }

  /** The lowest y the current page's text may reach. */
  bottom(): number {
    return this.pdf.page.height - MARGIN;
  }

  /** Starts a new page unless `height` more points fit on this one. */
  ensure(height: number): void {
    if (this.pdf.y + height > this.bottom()) this.pdf.addPage();
  }

  /** A figure's size on the page: the text width (or its share of it) at most, and never taller than a page. */
  figureSize(chart: RenderedChart): { w: number; h: number } {
    const scale = Math.min(1, (this.width * (chart.pdfWidthShare ?? 1)) / chart.width, (this.bottom() - MARGIN - 60) / chart.height);
    return { w: chart.width * scale, h: chart.height * scale };
  }

  /** A table's or a listing's caption, bold, from the left margin. */
  caption(text: string): void {
    this.pdf.font('Helvetica-Bold').fontSize(9).text(text, MARGIN, this.pdf.y, { width: this.width }).moveDown(0.3);
  }
}

/** The report's title and subtitle, at the top of the first page. */
function drawTitle({ pdf }: PdfLayout, doc: ReportDocument): void {
  pdf.font('Helvetica-Bold').fontSize(20).text(doc.title);
  pdf.font('Helvetica').fontSize(11).fillColor('#555').text(doc.subtitle).fillColor('black').moveDown();
}

/** A section: its heading, then its blocks in order. */
function drawSection(layout: PdfLayout, section: Section): void {
  const { pdf, width } = layout;
  // A heading stays with the start of what follows it: with a whole figure, or a few lines of anything else.
  const first = section.blocks[0];
  layout.ensure(60 + (first?.kind === 'figure' ? layout.figureSize(first.chart).h + 40 : 0));
  pdf.moveDown(0.5).font('Helvetica-Bold').fontSize(14).text(section.title).moveDown(0.3);
  for (const block of section.blocks) {
    switch (block.kind) {
      case 'paragraph':
        pdf.font('Helvetica').fontSize(10).text(block.text, { width, align: 'left' }).moveDown(0.5);
        break;
      case 'list':
        pdf.font('Helvetica').fontSize(10).list(block.items, { width, bulletRadius: 1.5 }).moveDown(0.5);
        break;
      case 'table':
        new TableDrawer(layout, block).draw();
        break;
      case 'figure':
        drawFigure(layout, block);
        break;
      case 'listing':
        new ListingDrawer(layout, block).draw();
        break;
    }
  }
}

/** Draws a table in 8 pt rows, ruled; the first column (it names the row) wider than the others, which share the rest. */
class TableDrawer {
  /** Per column: whether it holds numbers, which line up on the right (a column of words reads better from the left). */
  readonly numeric: boolean[];
  readonly firstWidth: number;
  readonly otherWidth: number;
  constructor(
    readonly layout: PdfLayout,
    readonly block: TableBlock,
  ) {
    const { width } = layout;
    const columns = block.header.length;
    this.numeric = block.header.map((_, i) => i > 0 && block.rows.every((r) => /^[-\d.,%\s]+[a-zA-Z ]{0,3}$|^-$/.test(r[i] ?? '')));
    this.firstWidth = Math.min(width * 0.34, Math.max(80, width / columns));
    this.otherWidth = (width - this.firstWidth) / Math.max(1, columns - 1);
  }

  /** The caption, the header and the rows; a table that runs onto the next page repeats its header there, so its columns stay readable. */
  draw(): void {
    const { layout, block } = this;
    layout.ensure(40);
    layout.caption(`Table ${block.number}. ${block.caption}`);
    this.drawRow(block.header, 'Helvetica-Bold');
    for (const row of block.rows) {
      if (layout.pdf.y + this.rowHeight(row, 'Helvetica') > layout.bottom()) {
        layout.pdf.addPage();
        layout.caption(`Table ${block.number} (continued).`);
        this.drawRow(block.header, 'Helvetica-Bold');
      }
      this.drawRow(row, 'Helvetica');
    }
    layout.pdf.moveDown(0.8);
  }

  /** Where column i starts. */
  x(i: number): number {
    return MARGIN + (i === 0 ? 0 : this.firstWidth + (i - 1) * this.otherWidth);
  }

  /** The width of column i's text (its share less a small gap). */
  w(i: number): number {
    return (i === 0 ? this.firstWidth : this.otherWidth) - 4;
  }

  /** The height of a row of cells in the given font: its tallest cell, with some room. */
  rowHeight(cells: string[], font: string): number {
    const pdf = this.layout.pdf;
    pdf.font(font).fontSize(8);
    return Math.max(...cells.map((c, i) => pdf.heightOfString(c, { width: this.w(i) }))) + 4;
  }

  /** A row of cells, on a new page if it does not fit, with a rule under it. */
  drawRow(cells: string[], font: string): void {
    const { layout, numeric } = this;
    const pdf = layout.pdf;
    const h = this.rowHeight(cells, font);
    layout.ensure(h);
    const y = pdf.y;
    cells.forEach((c, i) =>
      pdf
        .font(font)
        .fontSize(8)
        .text(c, this.x(i), y + 2, { width: this.w(i), align: numeric[i] ? 'right' : 'left' }),
    );
    pdf
      .moveTo(MARGIN, y + h)
      .lineTo(MARGIN + layout.width, y + h)
      .lineWidth(0.3)
      .strokeColor('#bbb')
      .stroke();
    pdf.x = MARGIN;
    pdf.y = y + h;
  }
}

/** A figure: its PNG centred at the size figureSize gives, its caption under it. */
function drawFigure(layout: PdfLayout, block: FigureBlock): void {
  const { pdf, width } = layout;
  const chart = block.chart;
  const { w, h } = layout.figureSize(chart);
  layout.ensure(h + 40);
  pdf.image(chart.png, MARGIN + (width - w) / 2, pdf.y, { width: w, height: h });
  pdf.y += h + 4;
  pdf.x = MARGIN;
  pdf.font('Helvetica').fontSize(9).text(`Figure ${block.number}. ${chart.caption}`, { width }).moveDown(0.8);
}

/**
 * Draws a code listing in Courier: each line numbered in a column of its own, a thin rule between the numbers and the
 * code, a line too long for the width wrapped into continuations (indented, marked by a hook where the number would be).
 */
class ListingDrawer {
  readonly charWidth: number;
  readonly numberWidth: number;
  readonly ruleX: number;
  readonly codeX: number;
  /** How far right of the code the continuation pieces sit. */
  readonly indent: number;
  readonly codeWidth: number;
  /** Where the rule starts on the current page. */
  ruleTop = 0;
  constructor(
    readonly layout: PdfLayout,
    readonly block: ListingBlock,
  ) {
    this.mono();
    this.charWidth = layout.pdf.widthOfString('0');
    const digits = Math.max(2, String(block.lines.length).length);
    this.numberWidth = this.charWidth * digits;
    this.ruleX = MARGIN + this.numberWidth + this.charWidth;
    this.codeX = this.ruleX + this.charWidth;
    this.indent = 2 * this.charWidth;
    this.codeWidth = MARGIN + layout.width - this.codeX;
  }

  /** The caption, then every line; a line and its continuations stay on one page unless they could fill a page by themselves. */
  draw(): void {
    const { layout, block } = this;
    const pdf = layout.pdf;
    const lh = LISTING_LINE_HEIGHT;
    layout.ensure(40);
    this.caption(`Listing ${block.number}. ${block.caption}`);
    this.ruleTop = pdf.y;
    const pageHeight = layout.bottom() - MARGIN - 30;
    block.lines.forEach((raw, i) => {
      this.mono();
      const pieces = wrapCode(winAnsi(expandTabs(raw)), this.codeWidth, this.codeWidth - this.indent, (t) => pdf.widthOfString(t));
      if (pdf.y + pieces.length * lh > layout.bottom() && pieces.length * lh <= pageHeight) this.nextPage();
      pieces.forEach((piece, j) => this.drawPiece(piece, j === 0 ? i + 1 : undefined));
    });
    this.rule();
    pdf.fillColor('black').strokeColor('black');
    pdf.x = MARGIN;
    pdf.font('Helvetica').fontSize(9).moveDown(0.8);
  }

  /** One piece of a line, on a new page if it does not fit: a line's first with its number, a continuation after a hook. */
  drawPiece(piece: string, lineNumber: number | undefined): void {
    const { pdf } = this.layout;
    const lh = LISTING_LINE_HEIGHT;
    if (pdf.y + lh > this.layout.bottom()) this.nextPage();
    const y = pdf.y;
    if (lineNumber !== undefined) {
      const number = String(lineNumber);
      pdf.fillColor('#999').text(number, MARGIN + this.numberWidth - pdf.widthOfString(number), y, { lineBreak: false });
    } else {
      const hx = this.ruleX - this.charWidth * 0.75;
      pdf
        .moveTo(hx, y + lh * 0.15)
        .lineTo(hx, y + lh * 0.45)
        .lineTo(this.ruleX - this.charWidth * 0.2, y + lh * 0.45)
        .lineWidth(0.4)
        .strokeColor('#999')
        .stroke();
    }
    if (piece.length > 0)
      pdf.fillColor('black').text(piece, this.codeX + (lineNumber === undefined ? this.indent : 0), y, { lineBreak: false });
    pdf.x = MARGIN;
    pdf.y = y + lh;
  }

  /** Sets the listing's font. */
  mono(): void {
    this.layout.pdf.font('Courier').fontSize(LISTING_FONT_SIZE);
  }

  /** A caption, the listing's font set again after it. */
  caption(text: string): void {
    this.layout.caption(text);
    this.mono();
  }

  /** The thin rule between the line numbers and the code, from ruleTop down to here: drawn once per page the listing covers. */
  rule(): void {
    const { pdf } = this.layout;
    if (pdf.y > this.ruleTop) pdf.moveTo(this.ruleX, this.ruleTop).lineTo(this.ruleX, pdf.y).lineWidth(0.4).strokeColor('#ccc').stroke();
  }

  /** Ends the page's rule and carries the listing onto a new page, under its caption marked continued. */
  nextPage(): void {
    this.rule();
    this.layout.pdf.addPage();
    this.caption(`Listing ${this.block.number} (continued).`);
    this.ruleTop = this.layout.pdf.y;
  }
}

/** Every page's footer, in its bottom margin: the title and the page's number of all; returns the page count. */
function drawFooters({ pdf, width }: PdfLayout, title: string): number {
  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    pdf.page.margins.bottom = 0; // the footer sits in the margin; without this pdfkit would start a new page
    pdf
      .font('Helvetica')
      .fontSize(8)
      .fillColor('#777')
      .text(`${title} - page ${i + 1} of ${range.count}`, MARGIN, pdf.page.height - MARGIN + 15, {
        width,
        align: 'center',
        lineBreak: false,
      })
      .fillColor('black');
  }
  return range.count;
}
