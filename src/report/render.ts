/**
 * Renders a ReportDocument: HTML with every figure's SVG inline (it opens
 * offline, nothing external), and an A4 PDF with pdfkit, figures embedded as
 * the PNGs rendered for them.
 */
import { createWriteStream } from 'node:fs';

import PDFDocument from 'pdfkit';

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
</style></head>
<body><h1>${escapeHtml(doc.title)}</h1><p class="subtitle">${escapeHtml(doc.subtitle)}</p>
${body.join('\n')}
</body></html>
`;
}

const MARGIN = 50;

/** Writes the PDF and resolves with its page count. */
export function renderPdf(doc: ReportDocument, path: string): Promise<number> {
  const pdf = new PDFDocument({ size: 'A4', margin: MARGIN, bufferPages: true, info: { Title: doc.title, Creator: 'skipstudio' } });
  const finished = new Promise<void>((resolve, reject) => {
    const stream = createWriteStream(path);
    stream.on('finish', () => resolve());
    stream.on('error', reject);
    pdf.pipe(stream);
  });
  const width = pdf.page.width - 2 * MARGIN;
  const bottom = () => pdf.page.height - MARGIN;
  const ensure = (height: number) => {
    if (pdf.y + height > bottom()) pdf.addPage();
  };

  pdf.font('Helvetica-Bold').fontSize(20).text(doc.title);
  pdf.font('Helvetica').fontSize(11).fillColor('#555').text(doc.subtitle).fillColor('black').moveDown();

  for (const section of doc.sections) {
    ensure(60);
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
          const scale = Math.min(1, (width * (chart.pdfWidthShare ?? 1)) / chart.width, (bottom() - MARGIN - 60) / chart.height);
          const w = chart.width * scale;
          const h = chart.height * scale;
          ensure(h + 40);
          pdf.image(chart.png, MARGIN + (width - w) / 2, pdf.y, { width: w, height: h });
          pdf.y += h + 4;
          pdf.x = MARGIN;
          pdf.font('Helvetica').fontSize(9).text(`Figure ${block.number}. ${chart.caption}`, { width }).moveDown(0.8);
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
