import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { modelNames } from '../../src/models/index.js';
import { hasModelSources, modelSourceFiles, modelSources } from '../../src/models/catalog.js';
import { DocumentBuilder, type ReportDocument } from '../../src/report/document.js';
import { SOURCE_APPENDIX_TITLE, addSourceAppendix, packageRoot, sourceLines } from '../../src/report/listings.js';
import { renderHtml, renderPdf, wrapCode } from '../../src/report/render.js';
import { type PdfTextRun, pdfTextRuns } from './pdf-text.js';

// The compiled test runs from dist/test/report/; the sources it lists sit under <package>/src/models/.
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const modelsDir = join(root, 'src', 'models');
const tmp = mkdtempSync(join(tmpdir(), 'skipstudio-listings-'));
const fileLines = (file: string) => sourceLines(readFileSync(join(modelsDir, file), 'utf8'));

const LISTING_SIZE = 7; // the PDF draws listings, and only listings, at 7 pt
const LONG =
  'const long = [' +
  Array.from({ length: 40 }, (_, i) => `'item${i}'`).join(', ') +
  '];' +
  '/*' +
  Array.from({ length: 150 }, (_, i) => '0123456789abcdefghijklmnopqrstuvwxyz'[i % 36]).join('') +
  '*/';
const SYNTHETIC = ['// a synthetic listing', LONG, '\tif (a < b && c > d) return "tab";', '', 'done();'];
const MANY = Array.from({ length: 200 }, (_, i) => `line(${i + 1});`);

function appendixDocument(): ReportDocument {
  const builder = new DocumentBuilder();
  addSourceAppendix(builder, [
    { name: 'hw5net', learnableLayers: 213 },
    { name: 'net3', learnableLayers: 28 },
    { name: 'hw5net', learnableLayers: 213 },
  ]);
  builder.listing('A synthetic listing.', SYNTHETIC);
  builder.listing('Two hundred lines.', MANY);
  return { title: 'Listings', subtitle: 'test', sections: builder.sections };
}

interface ListedLine {
  number: number;
  text: string;
  /** The runs that drew the line's code: one, or more where it wrapped. */
  pieces: PdfTextRun[];
}

/**
 * Reads each listing back from the PDF: the captions (9 pt) start listings,
 * the 7 pt runs left of the code are line numbers, and everything else at 7 pt
 * is code, continuations included.
 */
function listingsOf(runs: PdfTextRun[]): Map<string, ListedLine[]> {
  const listings = new Map<string, PdfTextRun[]>();
  let current: PdfTextRun[] | undefined;
  for (const run of runs) {
    const caption = /^Listing \d+\. (.*)$/.exec(run.text);
    if (caption !== null && run.size !== LISTING_SIZE) listings.set(run.text, (current = []));
    else if (run.size === LISTING_SIZE) current?.push(run);
  }
  const out = new Map<string, ListedLine[]>();
  for (const [caption, listingRuns] of listings) {
    const codeX = Math.min(...listingRuns.filter((r) => !/^\d+$/.test(r.text)).map((r) => r.x));
    const lines: ListedLine[] = [];
    for (const run of listingRuns) {
      if (/^\d+$/.test(run.text) && run.x < codeX) lines.push({ number: Number(run.text), text: '', pieces: [] });
      else {
        const line = lines.at(-1);
        assert.ok(line !== undefined, `${caption}: code before the first line number`);
        line.text += run.text;
        line.pieces.push(run);
      }
    }
    out.set(caption, lines);
  }
  return out;
}

describe('the model sources', () => {
  it('list, for every model in the registry, files that exist, with the files they import from src/models/', () => {
    for (const name of modelNames()) {
      assert.ok(hasModelSources(name), `${name} has no entry in src/models/sources.ts`);
      const files = modelSources(name);
      assert.ok(files.length > 0, name);
      for (const file of files) {
        assert.ok(existsSync(join(modelsDir, file)), `${name}: src/models/${file} does not exist`);
        // Whatever a listed file imports from src/models/ is listed too, before it.
        for (const [, imported] of readFileSync(join(modelsDir, file), 'utf8').matchAll(/from '\.\/([\w-]+)\.js'/g)) {
          const at = files.indexOf(`${imported}.ts`);
          assert.ok(at >= 0 && at < files.indexOf(file), `${name}: ${file} imports ${imported}.ts, which should be listed before it`);
        }
      }
    }
    assert.deepEqual(modelSourceFiles(['hw5net', 'net3', 'hw5net-plain']), ['shapes.ts', 'skip-block.ts', 'hw5net.ts', 'hw4.ts']);
    assert.throws(() => modelSourceFiles(['resnet']), /no source files listed for model 'resnet'/);
  });

  it('are found from the compiled module', () => {
    assert.equal(packageRoot(), root);
  });
});

describe('the source appendix', () => {
  const document = appendixDocument();
  const pdfPath = join(tmp, 'listings.pdf');
  const rendered = renderPdf(document, pdfPath);

  it('lists every source file in full in the PDF, each line with its real line number', async () => {
    await rendered;
    const runs = pdfTextRuns(pdfPath);
    const listings = listingsOf(runs);
    assert.deepEqual(
      [...listings.keys()],
      [
        'Listing 1. src/models/shapes.ts',
        'Listing 2. src/models/skip-block.ts',
        'Listing 3. src/models/hw5net.ts',
        'Listing 4. src/models/hw4.ts',
        'Listing 5. A synthetic listing.',
        'Listing 6. Two hundred lines.',
      ],
    );
    for (const file of ['shapes.ts', 'skip-block.ts', 'hw5net.ts', 'hw4.ts']) {
      const [caption, listed] = [...listings].find(([c]) => c.endsWith(`src/models/${file}`))!;
      assert.deepEqual(
        listed.map((l) => l.number),
        fileLines(file).map((_, i) => i + 1),
        `${caption}: every line numbered once, in order`,
      );
      assert.deepEqual(
        listed.map((l) => l.text),
        fileLines(file),
        `${caption}: the file's text, character for character`,
      );
    }
  });

  it("shows a line of SkipBlock's forward with its line number beside it", async () => {
    await rendered;
    const lines = fileLines('skip-block.ts');
    const forward = lines.findIndex((l) => /^\s*forward\(/.test(l));
    assert.ok(forward >= 0, 'skip-block.ts has a forward method');
    const index = lines.findIndex((l, i) => i > forward && l.includes('out.add(') && l.length < 100);
    assert.ok(index > forward, 'SkipBlock.forward adds the shortcut with out.add(');
    const runs = pdfTextRuns(pdfPath);
    const at = runs.findIndex((r) => r.text === lines[index]);
    assert.ok(at > 0, `the PDF holds ${JSON.stringify(lines[index])}`);
    const number = runs[at - 1]!;
    assert.equal(number.text, String(index + 1), 'the line number drawn just before it');
    assert.equal(number.page, runs[at]!.page);
    assert.ok(Math.abs(number.y - runs[at]!.y) < 0.01, 'on the same baseline');
    assert.ok(number.x < runs[at]!.x, 'left of the code');
  });

  it('wraps a long line onto numberless continuation lines without losing a character', async () => {
    await rendered;
    const synthetic = listingsOf(pdfTextRuns(pdfPath)).get('Listing 5. A synthetic listing.')!;
    assert.equal(LONG.length >= 300, true);
    assert.deepEqual(
      synthetic.map((l) => l.number),
      [1, 2, 3, 4, 5],
    );
    const long = synthetic[1]!;
    assert.equal(long.text, LONG, 'every character, in order');
    assert.ok(long.pieces.length >= 3, `300 characters at 7 pt take at least 3 lines, got ${long.pieces.length}`);
    const [first, ...rest] = long.pieces;
    for (const piece of rest) {
      assert.ok(piece.x > first!.x, 'continuations are indented');
      assert.ok(piece.y < first!.y, 'and drawn below the first piece');
    }
    // Courier's characters are all 600/1000 em wide; A4 is 595.28 pt wide with 50 pt margins.
    for (const piece of long.pieces)
      assert.ok(piece.x + piece.text.length * 0.6 * LISTING_SIZE <= 595.28 - 50 + 0.01, `${JSON.stringify(piece.text)} fits the line`);
    assert.equal(synthetic[2]!.text, '    if (a < b && c > d) return "tab";', 'the tab expanded to the next tab stop');
    assert.equal(synthetic[3]!.text, '', 'an empty line keeps its number');
  });

  it('continues a listing on the next page, under "Listing N (continued)."', async () => {
    const pages = await rendered;
    const runs = pdfTextRuns(pdfPath);
    const many = listingsOf(runs).get('Listing 6. Two hundred lines.')!;
    assert.deepEqual(
      many.map((l) => l.text),
      MANY,
      'every line once, in order',
    );
    const pagesOf = [...new Set(many.flatMap((l) => l.pieces.map((p) => p.page)))];
    assert.ok(pagesOf.length >= 2, '200 lines take more than a page');
    for (const page of pagesOf.slice(1)) {
      assert.ok(
        runs.some((r) => r.page === page && r.text === 'Listing 6 (continued).'),
        `page ${page + 1} says the listing continues`,
      );
    }
    assert.ok(
      runs.filter((r) => r.size === LISTING_SIZE).every((r) => r.y > 50 - 1),
      'no listing line runs into the bottom margin',
    );
    assert.equal(pdfTextRuns(pdfPath).at(-1)!.text, `Listings - page ${pages} of ${pages}`);
  });

  it("states each model's learnable layers once", async () => {
    await rendered;
    const text = pdfTextRuns(pdfPath)
      .map((r) => r.text)
      .join('\n');
    assert.ok(text.includes(SOURCE_APPENDIX_TITLE));
    assert.equal(text.split('HW5Net (hw5net) has 213 learnable layers (parameters().length).').length, 2, 'once, though given twice');
    assert.ok(text.includes('Net3 (net3) has 28 learnable layers (parameters().length).'));
  });

  it('writes the listings into the HTML, escaped, with line numbers', () => {
    const html = renderHtml(document);
    const lines = fileLines('skip-block.ts');
    const index = lines.findIndex((l) => l.includes('out.add('));
    assert.ok(html.includes('<figcaption>Listing 2. src/models/skip-block.ts</figcaption>'));
    const escaped = lines[index]!.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    assert.ok(html.includes(`<span class="line"><span class="ln">${index + 1}</span>${escaped}</span>`), "SkipBlock's forward, numbered");
    assert.ok(html.includes('<span class="ln">3</span>\tif (a &lt; b &amp;&amp; c &gt; d) return &quot;tab&quot;;</span>'), 'escaped');
    assert.ok(!html.includes('if (a < b'), 'nothing unescaped');
    assert.ok(html.includes(`<span class="ln">2</span>${LONG}</span>`), 'the long line whole');
    assert.match(html, /\.ln \{[^}]*user-select: none/);
    const numbers = [...html.matchAll(/<figure class="listing" id="listing-(\d+)">/g)].map((m) => Number(m[1]));
    assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6]);
  });

  it('says so where a source file is missing, instead of failing', async () => {
    const bare = join(tmp, 'installed-without-src');
    mkdirSync(join(bare, 'src', 'models'), { recursive: true });
    const builder = new DocumentBuilder();
    addSourceAppendix(
      builder,
      [
        { name: 'net1', learnableLayers: 8 },
        { name: 'lenet', learnableLayers: 10 },
      ],
      { packageRoot: bare },
    );
    assert.equal(builder.listingCount, 0);
    const text = builder.sections
      .flatMap((s) => s.blocks)
      .map((b) => (b.kind === 'paragraph' ? b.text : ''))
      .join('\n');
    assert.match(text, /The source file src\/models\/shapes\.ts is not in this installation/);
    assert.match(text, /The source file src\/models\/hw4\.ts is not in this installation/);
    assert.match(text, /Net1 \(net1\) has 8 learnable layers/);
    assert.match(text, /^lenet has 10 learnable layers/m);
    assert.match(text, /No source files are known for lenet/);
    const path = join(tmp, 'bare.pdf');
    assert.ok((await renderPdf({ title: 'Bare', subtitle: 'test', sections: builder.sections }, path)) >= 1);
  });
});

describe('wrapCode', () => {
  it('splits any line into pieces that fit and join back to it', () => {
    const measure = (t: string) => t.length * 4.2;
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 200; n++) {
      const line = Array.from({ length: Math.floor(random() * 400) }, () => ' ab,(x;'[Math.floor(random() * 7)]).join('');
      const pieces = wrapCode(line, 100, 80, measure);
      assert.equal(pieces.join(''), line);
      pieces.forEach((p, i) => assert.ok(measure(p) <= (i === 0 ? 100 : 80) || p.length === 1, JSON.stringify(p)));
      assert.ok(pieces.slice(0, -1).every((p) => p.length > 0));
    }
    assert.deepEqual(
      wrapCode('x'.repeat(50), 84, 84, measure),
      ['x'.repeat(20), 'x'.repeat(20), 'x'.repeat(10)],
      'mid-token where there is no space',
    );
    assert.deepEqual(wrapCode('', 84, 84, measure), ['']);
  });
});
