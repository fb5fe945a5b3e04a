/**
 * The README and docs/ link to each other by file and by section: every
 * relative link must name a file that exists, and every #anchor a heading of
 * that file (GitHub's slugs), so moving a section cannot leave a dead link.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { githubSlug as slug } from '../../src/cli/reference.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const pages = [
  'README.md',
  ...readdirSync(join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The anchors of a markdown file's headings (outside code blocks). */
function anchors(path: string): Set<string> {
  const text = readFileSync(path, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

describe("the documentation's links", () => {
  it("makes GitHub's anchors", () => {
    assert.equal(slug('The assignment at full size (`npm run bench:hw5`)'), 'the-assignment-at-full-size-npm-run-benchhw5');
    assert.equal(slug('How long `npm start` takes'), 'how-long-npm-start-takes');
  });

  for (const page of pages) {
    it(`${page}: every relative link names a file, and every anchor a heading`, () => {
      const text = readFileSync(join(repo, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
      assert.ok(links.length > 0 || page === 'docs/cli.md', `${page} links somewhere`);
      for (const link of links) {
        const [file, anchor] = link.split('#') as [string, string | undefined];
        const target = file === '' ? join(repo, page) : join(repo, dirname(page), file);
        assert.ok(existsSync(target), `${page}: ${link} names ${relative(repo, target)}, which does not exist`);
        if (anchor !== undefined)
          assert.ok(anchors(target).has(anchor), `${page}: ${link}: no heading of ${relative(repo, target)} has the anchor #${anchor}`);
      }
    });
  }
});
