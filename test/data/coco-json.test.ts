/**
 * The COCO annotation reader against adversarial JSON: escaped quotes and
 * brackets in strings, nested objects where entries' fields are expected, a
 * byte order mark, truncation at every byte, malformed JSON of every kind, and
 * random mutations. The right answer is what JSON.parse and the builder's
 * rules give (a reference reader below); where JSON.parse refuses the text,
 * the reader must refuse it too, with an error naming the file and the byte
 * offset. Every case runs with the default 4 MB reads and with reads of a few
 * bytes, so that every token also straddles a read.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, win32 } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { scanCocoJson } from '../../src/data/coco-json.js';
import { type CocoAnnotations, DataFileError, readCocoAnnotations } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, '../../../test/fixtures/coco-tiny/annotations/instances_tiny2017.json');
const root = mkdtempSync(join(tmpdir(), 'skipstudio-coco-json-'));
/** Read sizes: the default, and small ones that split every token across reads. */
const CHUNKS = [undefined, 1, 7, 64];

interface Outcome {
  images: [number, string][];
  categories: { id: number; name: string }[];
  annotations: [number, number, number][];
}

/** What the reader must return for text, by JSON.parse and the builder's rules, or 'error'. */
function reference(bytes: Buffer): Outcome | 'error' {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'error';
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(doc)) return 'error';
  const id = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const out: Outcome = { images: [], categories: [], annotations: [] };
  const images = new Map<number, string>();
  const counts = { images: 0, annotations: 0, categories: 0 };
  for (const section of ['images', 'annotations', 'categories'] as const) {
    if (!(section in doc)) continue;
    const entries = doc[section];
    if (!Array.isArray(entries)) return 'error';
    for (const e of entries) {
      if (!isObject(e)) return 'error';
      counts[section]++;
      if (section === 'images') {
        if (!id(e.id) || typeof e.file_name !== 'string') return 'error';
        const name = e.file_name;
        if (name === '' || name.includes('\0') || posix.isAbsolute(name) || win32.isAbsolute(name) || name.split(/[\\/]/).includes('..'))
          return 'error';
        images.set(e.id as number, name);
      } else if (section === 'annotations') {
        if (!id(e.image_id) || !id(e.category_id)) return 'error';
        out.annotations.push([e.image_id as number, e.category_id as number, typeof e.area === 'number' ? e.area : 0]);
      } else {
        if (e.name === undefined || (typeof e.name === 'object' && e.name !== null)) return 'error';
        if (!id(e.id)) return 'error';
        out.categories.push({ id: e.id as number, name: String(e.name) });
      }
    }
  }
  if (counts.images === 0 || counts.annotations === 0 || counts.categories === 0) return 'error';
  out.images = [...images];
  return out;
}

function outcome(coco: CocoAnnotations): Outcome {
  const annotations: [number, number, number][] = [];
  for (let i = 0; i < coco.annotationImage.length; i++) {
    annotations.push([coco.annotationImage.get(i), coco.annotationCategory.get(i), coco.annotationArea.get(i)]);
  }
  return { images: [...coco.images], categories: coco.categories, annotations };
}

let counter = 0;
function write(content: string | Buffer, name = `case-${counter++}.json`): string {
  const path = join(root, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

/** Reads path with every read size; all must give the same result or the same error. */
async function read(path: string): Promise<Outcome | Error> {
  let first: Outcome | Error | undefined;
  for (const chunkBytes of CHUNKS) {
    let result: Outcome | Error;
    try {
      result = outcome(await readCocoAnnotations(path, { chunkBytes }));
    } catch (error) {
      result = error as Error;
    }
    if (first === undefined) first = result;
    else if (first instanceof Error) assert.equal((result as Error).message, first.message, `read ${chunkBytes} bytes at a time`);
    else assert.deepEqual(result, first, `read ${chunkBytes} bytes at a time`);
  }
  return first!;
}

/** The reader's answer equals the reference's: the same result, or an error naming the file (and, for bad JSON, the byte). */
async function agrees(content: string | Buffer, label: string): Promise<Outcome | Error> {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const path = write(bytes);
  const expected = reference(bytes);
  const got = await read(path);
  if (expected === 'error') {
    assert.ok(
      got instanceof DataFileError,
      `${label}: expected an error, got ${got instanceof Error ? got.stack : JSON.stringify(got).slice(0, 300)}`,
    );
    assert.ok(got.message.startsWith(`${path}: `), `${label}: the error names the file: ${got.message}`);
    if (/not valid JSON/.test(got.message)) assert.match(got.message, /at byte \d+/, label);
  } else {
    assert.ok(!(got instanceof Error), `${label}: ${got instanceof Error ? got.message : ''}`);
    assert.deepEqual(got, expected, label);
  }
  return got;
}

/** A small COCO file whose strings hold escaped quotes, backslashes, brackets and braces, and nested objects in odd places. */
const tricky = {
  info: {
    description: 'quotes " and brackets ]}[{ and a backslash \\ and "images": [ in a string',
    images: [{ id: 999, file_name: '../nested/not/an/image.jpg' }],
    annotations: { image_id: 1, category_id: 1 },
  },
  licenses: [[[{ id: 1, name: '}]' }]], [], {}],
  images: [
    { id: 1, file_name: 'a "quoted" ]}[{ name.jpg', meta: { id: 77, file_name: '/etc/passwd' } },
    { file_name: 'second.jpg', id: 2, extra: [{ file_name: '../../x' }, [[['id', 3]]]] },
    { id: 3, file_name: 'caf\u00e9 \u2603 \ud83d\udc36.jpg' },
  ],
  annotations: [
    { segmentation: { image_id: 99, category_id: 99, area: 1e9, counts: [1, 2, 3] }, area: 10.25, image_id: 1, category_id: 5, id: 1 },
    { segmentation: [[1.5, 2.5, -3e2, 4.0e-1, 0, -0]], area: { nested: true }, image_id: 2, category_id: 7, id: 2 },
    { image_id: 3, category_id: 5, area: 2.5e3, id: 3, iscrowd: 0, bbox: [0, 0, 1, 1] },
    { image_id: 1, category_id: 5, area: 1, id: 4, image_id_: 3, category_id_: 4 },
  ],
  categories: [
    { supercategory: 'x', id: 5, name: 'cat "with" quotes ]}' },
    { id: 7, name: 'back\\slash\ttab\nnewline\u0000nul' },
  ],
};
const trickyText = JSON.stringify(tricky);

describe('the COCO annotation reader on adversarial JSON', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads strings with escaped quotes, backslashes and brackets, and ignores same-named fields nested deeper', async () => {
    const got = await agrees(trickyText, 'tricky');
    assert.deepEqual(got, {
      images: [
        [1, 'a "quoted" ]}[{ name.jpg'],
        [2, 'second.jpg'],
        [3, 'caf\u00e9 \u2603 \ud83d\udc36.jpg'],
      ],
      categories: [
        { id: 5, name: 'cat "with" quotes ]}' },
        { id: 7, name: 'back\\slash\ttab\nnewline\u0000nul' },
      ],
      annotations: [
        [1, 5, 10.25],
        [2, 7, 0],
        [3, 5, 2500],
        [1, 5, 1],
      ],
    });
    // The same document pretty-printed, with \u escapes in keys and values, and the last of duplicate keys winning (as JSON.parse).
    await agrees(JSON.stringify(tricky, null, '\t').replace(/\n/g, '\r\n'), 'pretty-printed with CRLF');
    const escaped = trickyText
      .replace('"file_name":"second.jpg"', '"file\\u005fname":"sec\\u006fnd\\/x.jpg"')
      .replace('"image_id":3,"category_id":5', '"image_id":1,"image_id":3,"category_id":9,"categ\\u006fry_id":5');
    const result = await agrees(escaped, 'escaped keys, duplicate keys');
    assert.deepEqual((result as Outcome).images[1], [2, 'second/x.jpg']);
    assert.deepEqual((result as Outcome).annotations[2], [3, 5, 2500]);
  });

  it('skips a UTF-8 byte order mark (the hash still covers it) and refuses UTF-16 by name', async () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(trickyText)]);
    const path = write(withBom);
    assert.deepEqual(await agrees(withBom, 'BOM'), reference(Buffer.from(trickyText)));
    const coco = await readCocoAnnotations(path);
    assert.equal(coco.sha256, createHash('sha256').update(withBom).digest('hex'));
    assert.equal(coco.bytes, withBom.length);
    const utf16 = write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(trickyText, 'utf16le')]));
    await assert.rejects(
      readCocoAnnotations(utf16),
      (e: Error) =>
        e.message === `${utf16}: not valid JSON at byte 0: the file starts with a UTF-16 byte order mark (a COCO file is UTF-8)`,
    );
  });

  it('refuses the file cut at every byte, naming the file and the offset where it ends', async () => {
    const text = Buffer.from(
      JSON.stringify({
        images: [{ id: 1, file_name: 'a\\"]}.jpg' }],
        annotations: [{ segmentation: [[1.5, -2e3]], image_id: 1, category_id: 2, area: 3.5, ok: true, no: false, none: null }],
        categories: [{ id: 2, name: 'x' }],
      }),
    );
    assert.notEqual(reference(text), 'error');
    for (let cut = 0; cut < text.length; cut++) {
      const path = write(text.subarray(0, cut), 'truncated.json');
      for (const chunkBytes of CHUNKS) {
        await assert.rejects(readCocoAnnotations(path, { chunkBytes }), (e: Error) => {
          assert.ok(e instanceof DataFileError, e.stack);
          const message =
            cut === 0 ? `${path}: not valid JSON at byte 0: the file is empty (where the JSON value should start)` : undefined;
          if (message !== undefined) assert.equal(e.message, message);
          else
            assert.match(
              e.message,
              new RegExp(
                `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON at byte ${cut}: the file ends (here|inside a (key|value)) \\(truncated\\?\\)`,
              ),
              `cut at ${cut}: ${e.message}`,
            );
          return true;
        });
      }
    }
    const whole = await readCocoAnnotations(write(text));
    assert.equal(whole.annotationImage.length, 1);
  });

  it('refuses malformed JSON with the byte offset of the fault, and a COCO shape it cannot use with what is wrong', async () => {
    const ok =
      '{"images":[{"id":1,"file_name":"a.jpg"}],"annotations":[{"image_id":1,"category_id":2,"area":3}],"categories":[{"id":2,"name":"x"}]}';
    assert.notEqual(reference(Buffer.from(ok)), 'error');
    const at = (needle: string) => ok.indexOf(needle);
    const cases: [string, string, RegExp][] = [
      [
        'trailing comma',
        ok.replace('"a.jpg"}]', '"a.jpg"},]'),
        new RegExp(
          `at byte ${at('"a.jpg"}]') + 9}: ']' where a value should start \\(a trailing comma\\?\\) \\(inside the "images" array\\)`,
        ),
      ],
      [
        'trailing comma in an object',
        ok.replace('"area":3}', '"area":3,}'),
        new RegExp(
          `at byte ${at('"area":3}') + 9}: '\\}' where a key \\(a string in double quotes\\) should start \\(a trailing comma\\?\\) \\(inside annotations\\[0\\]\\)`,
        ),
      ],
      [
        'single quotes',
        ok.replace('"name":"x"', '"name":\'x\''),
        new RegExp(`at byte ${at('"name":"x"') + 7}: ''' where a value should start \\(inside categories\\[0\\]\\)`),
      ],
      ['NaN', ok.replace('"area":3', '"area":NaN'), new RegExp(`at byte ${at('"area":3') + 7}: 'N' where a value should start`)],
      [
        'leading zero',
        ok.replace('"area":3', '"area":03'),
        new RegExp(`at byte ${at('"area":3') + 8}: '3' where ',' or '}' should follow a value`),
      ],
      ['a lone minus', ok.replace('"area":3', '"area":-'), new RegExp(`at byte ${at('"area":3') + 8}: a '-' followed by '}', not a digit`)],
      [
        '1.',
        ok.replace('"area":3', '"area":3.'),
        new RegExp(`at byte ${at('"area":3') + 9}: a '\\.' in a number followed by '}', not a digit`),
      ],
      [
        '1e',
        ok.replace('"area":3', '"area":3e+'),
        new RegExp(`at byte ${at('"area":3') + 10}: an exponent in a number followed by '}', not a digit`),
      ],
      [
        'raw newline in a string',
        ok.replace('a.jpg', 'a\n.jpg'),
        new RegExp(`at byte ${at('a.jpg') + 1}: a raw control character \\(byte 0x0a\\) inside a string`),
      ],
      ['bad escape', ok.replace('a.jpg', 'a\\x.jpg'), new RegExp(`at byte ${at('a.jpg') + 1}: an invalid escape '\\\\x' in a string`)],
      [
        'short \\u',
        ok.replace('a.jpg', 'a\\u12g4.jpg'),
        new RegExp(`at byte ${at('a.jpg') + 1}: a \\\\u escape not followed by four hexadecimal digits`),
      ],
      [
        'mismatched bracket',
        ok.replace('"a.jpg"}]', '"a.jpg"]]'),
        new RegExp(`at byte ${at('"a.jpg"}]') + 7}: '\\]' where ',' or '}' should follow a value`),
      ],
      ['data after the end', `${ok} {}`, new RegExp(`at byte ${ok.length + 1}: unexpected '\\{' \\(after the end of the JSON value\\)`)],
      ['a second document', `${ok}${ok}`, new RegExp(`at byte ${ok.length}: unexpected '\\{' \\(after the end of the JSON value\\)`)],
      [
        'a misspelt literal',
        ok.replace('"area":3', '"area":tru'),
        new RegExp(`at byte ${at('"area":3') + 7}: a word that is not true, false or null where a value should start`),
      ],
      [
        'a key without quotes',
        ok.replace('"area":3', 'area:3'),
        new RegExp(
          `at byte ${at('"area":3')}: 'a' where a key \\(a string in double quotes\\) should start \\(inside annotations\\[0\\]\\)`,
        ),
      ],
      [
        'a missing colon',
        ok.replace('"area":3', '"area" 3'),
        new RegExp(`at byte ${at('"area":3') + 7}: '3' where ':' should follow a key`),
      ],
      ['empty', '', /at byte 0: the file is empty/],
      ['only white space', ' \n\t ', /at byte 4: the file ends here \(truncated\?\) \(where the JSON value should start\)/],
      [
        'a top-level array',
        `[${ok}]`,
        /not a COCO instances file: the file holds an array, not an object with images, annotations and categories \(at byte 0\)/,
      ],
      ['a top-level string', '"images"', /not a COCO instances file: the file holds a JSON value that is not an object/],
      [
        'images not an array',
        ok.replace('"images":[{"id":1,"file_name":"a.jpg"}]', '"images":{"id":1,"file_name":"a.jpg"}'),
        /not a COCO instances file: "images" is not an array \(at byte 10\)/,
      ],
      [
        'an entry that is not an object',
        ok.replace('"annotations":[', '"annotations":[17,'),
        new RegExp(`not a COCO instances file: an entry is not an object \\(annotations\\[0\\], at byte ${at('"annotations":[') + 15}\\)`),
      ],
      [
        'a null entry',
        ok.replace('"categories":[', '"categories":[null,'),
        /not a COCO instances file: an entry is not an object \(categories\[0\], at byte \d+\)/,
      ],
      [
        'an id that is an object',
        ok.replace('"id":1,', '"id":{"value":1},'),
        /not a COCO instances file: an image lacks a numeric id or a file_name \(the entry at byte 11\)/,
      ],
      [
        'a file_name that is an array',
        ok.replace('"a.jpg"', '["a.jpg"]'),
        /an image lacks a numeric id or a file_name \(the entry at byte 11\)/,
      ],
      ['an annotation without image_id', ok.replace('"image_id":1,', ''), /an annotation lacks a numeric image_id or category_id/],
      ['a category without a name', ok.replace(',"name":"x"', ''), /a category lacks a name \(a string\)/],
      ['a category name that is an object', ok.replace('"name":"x"', '"name":{"en":"x"}'), /a category lacks a name \(a string\)/],
      [
        'a section given twice',
        ok.replace('"categories"', '"images":[],"categories"'),
        /not a COCO instances file: the key "images" appears twice in the top-level object/,
      ],
      ['no annotations', ok.replace('{"image_id":1,"category_id":2,"area":3}', ''), /not a COCO instances file: it has no annotations/],
      [
        'an id past 2\u2075\u00b3',
        ok.replace('"image_id":1', '"image_id":9007199254740993'),
        /annotation's image_id 9007199254740992 is not an id: ids must be non-negative integers below 2\^53 \(the entry at byte/,
      ],
      [
        'deep nesting, unclosed',
        `{"info":${'['.repeat(100_000)}`,
        /at byte 100008: the file ends here \(truncated\?\) \(inside the value of the top-level key "info"\)/,
      ],
    ];
    for (const [label, text, pattern] of cases) {
      const got = await agrees(text, label);
      assert.ok(got instanceof DataFileError, label);
      assert.match(got.message, pattern, label);
    }
  });

  it('reads what JSON allows but a naive scanner might not: deep nesting, a string far longer than a read, odd white space, every literal', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const huge = 'x\\"]}'.repeat(1_500_000);
    const text =
      `\r\n\t {"info" :\t${deep} , "licenses":[true,false,null,-0.0e-0,1E+2, "${huge}"],` +
      '"images" : [ {"id" :1 , "file_name" : "a.jpg" } ] ,"annotations":[{"image_id":1,"category_id":2,"area":1e-3}],"categories":[{"id":2,"name":123}]}\n';
    const got = await agrees(text, 'deep, long, spacious');
    assert.deepEqual(got, { images: [[1, 'a.jpg']], categories: [{ id: 2, name: '123' }], annotations: [[1, 2, 0.001]] });
  });

  it('skips a 200 MB string in an unused field in bounded memory: piece by piece, never held whole', async () => {
    const path = join(root, 'huge-unused-string.json');
    const head = '{"images":[{"id":1,"file_name":"a.jpg","coco_url":"';
    const tail = '"}],"annotations":[{"image_id":1,"category_id":2,"area":3}],"categories":[{"id":2,"name":"dog"}]}';
    // Escapes straddle every read: the piece at the cut is checked again after it.
    const piece = Buffer.from('abc\\u00e9\\"xyz'.repeat(1 << 16));
    const fd = openSync(path, 'w');
    writeSync(fd, head);
    for (let written = 0; written < 200e6; written += piece.length) writeSync(fd, piece);
    writeSync(fd, tail);
    closeSync(fd);
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const coco = await readCocoAnnotations(path, {
      progressIntervalMs: 0,
      progress: () => (peak = Math.max(peak, process.memoryUsage().rss)),
    });
    rmSync(path);
    assert.deepEqual([...coco.images.entries()], [[1, 'a.jpg']]);
    assert.deepEqual(coco.categories, [{ id: 2, name: 'dog' }]);
    assert.ok((peak - before) / 1e6 < 100, `RSS rose ${((peak - before) / 1e6).toFixed(0)} MB`);
  });

  it('agrees with JSON.parse on 400 random mutations of a tricky file: the same answer, or an error naming the file and byte', async () => {
    let state = 12345;
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const alphabet = Buffer.from('{}[]",:\\ -.0123456789eEtrufalsn\u0000\n');
    const base = Buffer.from(trickyText);
    let refused = 0;
    for (let k = 0; k < 400; k++) {
      const bytes = Buffer.from(base);
      let mutated: Buffer;
      const i = random(bytes.length);
      switch (random(3)) {
        case 0:
          mutated = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
          break;
        case 1:
          mutated = Buffer.concat([bytes.subarray(0, i), alphabet.subarray(random(alphabet.length)).subarray(0, 1), bytes.subarray(i)]);
          break;
        default:
          bytes[i] = alphabet[random(alphabet.length)]!;
          mutated = bytes;
      }
      const got = await agrees(
        mutated,
        `mutation ${k} at byte ${i}: ${JSON.stringify(mutated.toString('utf8', Math.max(0, i - 20), i + 20))}`,
      );
      if (got instanceof Error) refused++;
    }
    assert.ok(refused > 200 && refused < 400, `${refused} of 400 mutations refused: both kinds are exercised`);
  });

  it('reports progress while reading (bytes read, of the total, with the time), and reads the fixture as JSON.parse does', async () => {
    const seen: { bytesRead: number; totalBytes: number; seconds: number }[] = [];
    const coco = await readCocoAnnotations(fixture, { chunkBytes: 16 << 10, progressIntervalMs: 0, progress: (p) => seen.push(p) });
    const size = readFileSync(fixture).length;
    assert.ok(seen.length >= 5, `${seen.length} progress reports`);
    assert.deepEqual(seen.at(-1)!.bytesRead, size);
    for (const [i, p] of seen.entries()) {
      assert.equal(p.totalBytes, size);
      if (i > 0) assert.ok(p.bytesRead >= seen[i - 1]!.bytesRead && p.seconds >= seen[i - 1]!.seconds);
    }
    assert.deepEqual(outcome(coco), reference(readFileSync(fixture)));
  });

  it('scans without building what it skips: a section entry is handed on with its fields and the offset of its brace', () => {
    const path = write('{"images":[ {"id":1,"file_name":"a"}, {"x":{"id":2}} ],"categories":[]}');
    for (const chunkBytes of CHUNKS) {
      const entries: [string, number, unknown, unknown][] = [];
      const result = scanCocoJson(path, {
        chunkBytes,
        entry: (section, entry, offset) => entries.push([section, offset, entry.id, entry.file_name]),
      });
      assert.deepEqual(
        entries,
        [
          ['images', 12, 1, 'a'],
          ['images', 38, undefined, undefined],
        ],
        `read ${chunkBytes} bytes at a time`,
      );
      assert.deepEqual(result.counts, { images: 2, annotations: 0, categories: 0 });
    }
  });
});
