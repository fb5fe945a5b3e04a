/**
 * The byte level of the COCO JSON reader (coco-json.ts): checks one token, a string, a number or true, false
 * or null, against JSON's grammar (RFC 8259) where it lies in the buffer, and says where it ends, or that the
 * buffer ends first. A fault is thrown as a Fault at its index, for the scanner to name the byte offset.
 */
/** A syntax fault at an index into the current buffer (converted to a file offset where caught). */
export class Fault {
  constructor(
    readonly index: number,
    readonly message: string,
  ) {}
}

/** A byte as a message names it: the character where it is printable, its hex value otherwise. */
export function describeByte(c: number): string {
  if (c >= 0x21 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/** Set by scanString: whether the string just scanned holds an escape (importers read it as a live binding). */
export let sawEscape = false;

/** 1 for the bytes a string holds as they are: not a quote, a backslash or a control character. */
const PLAIN = Uint8Array.from({ length: 256 }, (_, c) => (c >= 0x20 && c !== 0x22 && c !== 0x5c ? 1 : 0));

/** Where scanString stopped when the buffer ended inside a string: the first byte not yet checked (an escape cut off starts there). */
export let stringCut = 0;

function cutAt(p: number): number {
  stringCut = p;
  return -1;
}

/**
 * Scans a string whose opening quote is at p - 1. Returns the index after the closing quote, or
 * -1 where the buffer ends first.
 */
export function scanString(b: Uint8Array, p: number, e: number): number {
  sawEscape = false;
  for (;;) {
    while (p < e && PLAIN[b[p]!] === 1) p++;
    if (p >= e) return cutAt(p);
    const c = b[p]!;
    if (c === 0x22) return p + 1;
    if (c === 0x5c) {
      sawEscape = true;
      if (p + 1 >= e) return cutAt(p);
      const d = b[p + 1]!;
      if (d === 0x75) {
        if (p + 5 >= e) return cutAt(p);
        for (let k = p + 2; k < p + 6; k++) {
          const h = b[k]!;
          if (!((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) {
            throw new Fault(p, 'a \\u escape not followed by four hexadecimal digits');
          }
        }
        p += 6;
        continue;
      }
      if (d === 0x22 || d === 0x5c || d === 0x2f || d === 0x62 || d === 0x66 || d === 0x6e || d === 0x72 || d === 0x74) {
        p += 2;
        continue;
      }
      throw new Fault(p, `an invalid escape '\\${String.fromCharCode(d)}' in a string`);
    }
    if (c < 0x20) throw new Fault(p, `a raw control character (${describeByte(c)}) inside a string (JSON requires it escaped)`);
    p++;
  }
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Scans a number starting at p. Returns the index after it, or -1 where the buffer ends first. */
export function scanNumber(b: Uint8Array, p: number, e: number): number {
  let q = p;
  if (b[q] === 0x2d) {
    q++;
    if (q >= e) return -1;
  }
  let c = b[q]!;
  if (c === 0x30) {
    q++;
  } else if (c >= 0x31 && c <= 0x39) {
    q++;
    while (q < e && isDigit(b[q]!)) q++;
  } else {
    throw new Fault(q, `a '-' followed by ${describeByte(c)}, not a digit`);
  }
  if (q >= e) return -1;
  c = b[q]!;
  if (c === 0x2e) {
    q++;
    if (q >= e) return -1;
    if (!isDigit(b[q]!)) throw new Fault(q, `a '.' in a number followed by ${describeByte(b[q]!)}, not a digit`);
    while (q < e && isDigit(b[q]!)) q++;
    if (q >= e) return -1;
    c = b[q]!;
  }
  if (c === 0x65 || c === 0x45) {
    q++;
    if (q >= e) return -1;
    c = b[q]!;
    if (c === 0x2b || c === 0x2d) {
      q++;
      if (q >= e) return -1;
    }
    if (!isDigit(b[q]!)) throw new Fault(q, `an exponent in a number followed by ${describeByte(b[q]!)}, not a digit`);
    while (q < e && isDigit(b[q]!)) q++;
    if (q >= e) return -1;
  }
  return q;
}

export const TRUE = [0x74, 0x72, 0x75, 0x65];
export const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
export const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Scans true, false or null at p. Returns the index after it, or -1 where the buffer ends first. */
export function scanLiteral(b: Uint8Array, p: number, e: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) {
    if (p + k >= e) return -1;
    if (b[p + k] !== word[k]) throw new Fault(p, 'a word that is not true, false or null where a value should start');
  }
  return p + word.length;
}
