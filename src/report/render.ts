/**
 * Renders a ReportDocument: HTML with every figure's SVG inline (it opens
 * offline, nothing external), and an A4 PDF with pdfkit, figures embedded as
 * the PNGs rendered for them and code listings in Courier with numbered lines.
 */
import PDFDocument from 'pdfkit';

import { writeFileAtomic } from '../io/atomic.js';

import type { RenderedChart } from './charts.js';
import type { ReportDocument } from './document.js';

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
          return `<table><caption>Table ${block.number}. ${escapeHtml(block.caption)}</caption>` +
            `<thead><tr>${block.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
            `<tbody>${block.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
        case 'figure':
          return `<figure id="figure-${block.number}">${block.chart.svg}` +
            `<figcaption>Figure ${block.number}. ${escapeHtml(block.chart.caption)}</figcaption></figure>`;
        case 'listing':
          return `<figure class="listing" id="listing-${block.number}">` +
            `<figcaption>Listing ${block.number}. ${escapeHtml(block.caption)}</figcaption>` +
            // One block per line, its number in a span the reader's selection skips, so copying gives just the code.
            `<pre><code>${block.lines.map((l, i) => `<span class="line"><span class="ln">${i + 1}</span>${escapeHtml(l)}</span>`).join('')}</code></pre></figure>`;
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
const WIN_ANSI_EXTRA = new Set([...'\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178']);
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
  const chunks: Buffer[] = [];
  const finished = new Promise<void>((resolve, reject) => {
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
  const width = pdf.page.width - 2 * MARGIN;
  const bottom = () => pdf.page.height - MARGIN;
  const ensure = (height: number) => {
    if (pdf.y + height > bottom()) pdf.addPage();
  };

  pdf.font('Helvetica-Bold').fontSize(20).text(doc.title);
  pdf.font('Helvetica').fontSize(11).fillColor('#555').text(doc.subtitle).fillColor('black').moveDown();

  // A figure's size on the page: the text width (or its share of it) at most, and never taller than a page.
  const figureSize = (chart: RenderedChart) => {
    const scale = Math.min(1, (width * (chart.pdfWidthShare ?? 1)) / chart.width, (bottom() - MARGIN - 60) / chart.height);
    return { w: chart.width * scale, h: chart.height * scale };
  };
  for (const section of doc.sections) {
    // A heading stays with the start of what follows it: with a whole figure, or a few lines of anything else.
    const first = section.blocks[0];
    ensure(60 + (first?.kind === 'figure' ? figureSize(first.chart).h + 40 : 0));
    pdf.moveDown(0.5).font('Helvetica-Bold').fontSize(14).text(section.title).moveDown(0.3);
    for (const block of section.blocks) {
      switch (block.kind) {
        case 'paragraph':
          pdf.font('Helvetica').fontSize(10).text(block.text, { width, align: 'left' }).moveDown(0.5);
          break;
        case 'list':
          pdf.font('Helvetica').fontSize(10).list(block.items, { width, bulletRadius: 1.5 }).moveDown(0.5);
          break;
        case 'table': {
          const columns = block.header.length;
          // Numbers line up on the right; a column of words reads better from the left.
          const numeric = block.header.map((_, i) => i > 0 && block.rows.every((r) => /^[-\d.,%\s]+[a-zA-Z ]{0,3}$|^-$/.test(r[i] ?? '')));
          const alignOf = (i: number) => (numeric[i] ? 'right' : 'left');
          const firstWidth = Math.min(width * 0.34, Math.max(80, width / columns));
          const otherWidth = (width - firstWidth) / Math.max(1, columns - 1);
          const colX = (i: number) => MARGIN + (i === 0 ? 0 : firstWidth + (i - 1) * otherWidth);
          const colW = (i: number) => (i === 0 ? firstWidth : otherWidth) - 4;
          const rowHeight = (cells: string[], font: string) => {
            pdf.font(font).fontSize(8);
            return Math.max(...cells.map((c, i) => pdf.heightOfString(c, { width: colW(i) }))) + 4;
          };
          const drawRow = (cells: string[], font: string) => {
            const h = rowHeight(cells, font);
            ensure(h);
            const y = pdf.y;
            cells.forEach((c, i) => pdf.font(font).fontSize(8).text(c, colX(i), y + 2, { width: colW(i), align: alignOf(i) }));
            pdf.moveTo(MARGIN, y + h).lineTo(MARGIN + width, y + h).lineWidth(0.3).strokeColor('#bbb').stroke();
            pdf.x = MARGIN;
            pdf.y = y + h;
          };
          const caption = (text: string) => pdf.font('Helvetica-Bold').fontSize(9).text(text, MARGIN, pdf.y, { width }).moveDown(0.3);
          ensure(40);
          caption(`Table ${block.number}. ${block.caption}`);
          drawRow(block.header, 'Helvetica-Bold');
          for (const row of block.rows) {
            // A table that runs onto the next page repeats its header there, so its columns stay readable.
            if (pdf.y + rowHeight(row, 'Helvetica') > bottom()) {
              pdf.addPage();
              caption(`Table ${block.number} (continued).`);
              drawRow(block.header, 'Helvetica-Bold');
            }
            drawRow(row, 'Helvetica');
          }
          pdf.moveDown(0.8);
          break;
        }
        case 'figure': {
          const chart = block.chart;
          const { w, h } = figureSize(chart);
          ensure(h + 40);
          pdf.image(chart.png, MARGIN + (width - w) / 2, pdf.y, { width: w, height: h });
          pdf.y += h + 4;
          pdf.x = MARGIN;
          pdf.font('Helvetica').fontSize(9).text(`Figure ${block.number}. ${chart.caption}`, { width }).moveDown(0.8);
          break;
        }
        case 'listing': {
          const lh = LISTING_LINE_HEIGHT;
          const mono = () => pdf.font('Courier').fontSize(LISTING_FONT_SIZE);
          mono();
          const charWidth = pdf.widthOfString('0');
          const digits = Math.max(2, String(block.lines.length).length);
          const numberWidth = charWidth * digits;
          const ruleX = MARGIN + numberWidth + charWidth;
          const codeX = ruleX + charWidth;
          const indent = 2 * charWidth; // continuation pieces sit this far right of the code, with no number
          const codeWidth = MARGIN + width - codeX;
          const caption = (text: string) => {
            pdf.font('Helvetica-Bold').fontSize(9).text(text, MARGIN, pdf.y, { width }).moveDown(0.3);
            mono();
          };
          // The thin rule between the line numbers and the code, drawn once per page the listing covers.
          let ruleTop = 0;
          const rule = () => {
            if (pdf.y > ruleTop) pdf.moveTo(ruleX, ruleTop).lineTo(ruleX, pdf.y).lineWidth(0.4).strokeColor('#ccc').stroke();
          };
          const nextPage = () => {
            rule();
            pdf.addPage();
            caption(`Listing ${block.number} (continued).`);
            ruleTop = pdf.y;
          };
          ensure(40);
          caption(`Listing ${block.number}. ${block.caption}`);
          ruleTop = pdf.y;
          const pageHeight = bottom() - MARGIN - 30;
          block.lines.forEach((raw, i) => {
            mono();
            const pieces = wrapCode(winAnsi(expandTabs(raw)), codeWidth, codeWidth - indent, (t) => pdf.widthOfString(t));
            // A line and its continuations stay on one page unless they could fill a page by themselves.
            if (pdf.y + pieces.length * lh > bottom() && pieces.length * lh <= pageHeight) nextPage();
            pieces.forEach((piece, j) => {
              if (pdf.y + lh > bottom()) nextPage();
              const y = pdf.y;
              if (j === 0) {
                const number = String(i + 1);
                pdf.fillColor('#999').text(number, MARGIN + numberWidth - pdf.widthOfString(number), y, { lineBreak: false });
              } else {
                // A small hook in the number column marks a continuation.
                const hx = ruleX - charWidth * 0.75;
                pdf.moveTo(hx, y + lh * 0.15).lineTo(hx, y + lh * 0.45).lineTo(ruleX - charWidth * 0.2, y + lh * 0.45)
                  .lineWidth(0.4).strokeColor('#999').stroke();
              }
              if (piece.length > 0) pdf.fillColor('black').text(piece, codeX + (j === 0 ? 0 : indent), y, { lineBreak: false });
              pdf.x = MARGIN;
              pdf.y = y + lh;
            });
          });
          rule();
          pdf.fillColor('black').strokeColor('black');
          pdf.x = MARGIN;
          pdf.font('Helvetica').fontSize(9).moveDown(0.8);
          break;
        }
      }
    }
  }
  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    pdf.page.margins.bottom = 0; // the footer sits in the margin; without this pdfkit would start a new page
    pdf.font('Helvetica').fontSize(8).fillColor('#777')
      .text(`${doc.title} - page ${i + 1} of ${range.count}`, MARGIN, pdf.page.height - MARGIN + 15, { width, align: 'center', lineBreak: false })
      .fillColor('black');
  }
  const pages = range.count;
  pdf.end();
  return finished.then(() => pages);
}
