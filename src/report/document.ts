/**
 * The report as a small document model (sections of paragraphs, lists,
 * numbered tables, figures and code listings), written once and rendered twice: to
 * self-contained HTML and to PDF. Numbering happens here, so both outputs
 * agree.
 */
import type { RenderedChart } from './charts.js';

/** One block of a report section: a paragraph, a list, or a numbered table, figure or code listing. */
export type Block =
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; number: number; caption: string; header: string[]; rows: string[][] }
  | { kind: 'figure'; number: number; chart: RenderedChart }
  /** Source code, one string per line (no newlines); the renderers number the lines from 1. */
  | { kind: 'listing'; number: number; caption: string; lines: string[] };

/** A titled section of the report and its blocks, in order. */
export interface Section {
  title: string;
  blocks: Block[];
}

export interface ReportDocument {
  title: string;
  subtitle: string;
  sections: Section[];
}

/** Builds sections while numbering tables, figures and listings (each on its own counter) in order of appearance. */
export class DocumentBuilder {
  /** The sections added so far, in order. */
  readonly sections: Section[] = [];
  #tables = 0;
  #figures = 0;
  #listings = 0;

  /** Starts a new section; the blocks added next go into it. */
  section(title: string): this {
    this.sections.push({ title, blocks: [] });
    return this;
  }

  #current(): Section {
    const section = this.sections.at(-1);
    if (section === undefined) throw new Error('DocumentBuilder: start a section first');
    return section;
  }

  /** Adds a paragraph to the current section. */
  paragraph(text: string): this {
    this.#current().blocks.push({ kind: 'paragraph', text });
    return this;
  }

  /** Adds a bulleted list to the current section (nothing when items is empty). */
  list(items: string[]): this {
    if (items.length > 0) this.#current().blocks.push({ kind: 'list', items });
    return this;
  }

  /** Adds a numbered table and returns its number. */
  table(caption: string, header: string[], rows: string[][]): number {
    this.#tables += 1;
    this.#current().blocks.push({ kind: 'table', number: this.#tables, caption, header, rows });
    return this.#tables;
  }

  /** Adds a numbered figure and returns its number. */
  figure(chart: RenderedChart): number {
    this.#figures += 1;
    this.#current().blocks.push({ kind: 'figure', number: this.#figures, chart });
    return this.#figures;
  }

  /** Adds a numbered code listing ("Listing N.") and returns its number. */
  listing(caption: string, lines: string[]): number {
    const bad = lines.findIndex((l) => /[\r\n]/.test(l));
    if (bad >= 0) throw new RangeError(`DocumentBuilder.listing: line ${bad + 1} holds a line break; split the text into lines first`);
    this.#listings += 1;
    this.#current().blocks.push({ kind: 'listing', number: this.#listings, caption, lines: [...lines] });
    return this.#listings;
  }

  /** The number of tables added so far. */
  get tableCount(): number {
    return this.#tables;
  }

  /** The number of code listings added so far. */
  get listingCount(): number {
    return this.#listings;
  }
}
