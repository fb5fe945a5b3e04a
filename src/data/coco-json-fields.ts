/**
 * The value and field level of the COCO JSON reader (coco-json.ts): the sections read, the fields kept of
 * each entry, which field a key names (compared byte by byte, without making a string), and the value of a
 * kept token, as JSON.parse gives it.
 */
/** The array sections of a COCO file the builder reads. */
export type CocoSection = 'images' | 'annotations' | 'categories';
export const SECTIONS: readonly CocoSection[] = ['images', 'annotations', 'categories'];

/** A field holding an object or an array (the reader does not build them). */
export const CONTAINER: unique symbol = Symbol('an object or an array');
export type FieldValue = number | string | boolean | null | typeof CONTAINER | undefined;

/** The fields kept of one entry; undefined where the entry has no such field. Reused from entry to entry. */
export interface CocoEntry {
  id: FieldValue;
  file_name: FieldValue;
  image_id: FieldValue;
  category_id: FieldValue;
  area: FieldValue;
  name: FieldValue;
}

/** The value of a number token (valid JSON), as JSON.parse gives it. */
export function numberValue(b: Buffer, s: number, e: number): number {
  if (e - s <= 15) {
    let v = 0;
    let k = s;
    for (; k < e; k++) {
      const c = b[k]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
    }
    if (k === e) return v;
  }
  return Number(b.toString('latin1', s, e));
}

/** The value of a string token whose quotes are at s and e - 1. */
export function stringValue(b: Buffer, s: number, e: number, escaped: boolean): string {
  return escaped ? (JSON.parse(b.toString('utf8', s, e)) as string) : b.toString('utf8', s + 1, e - 1);
}

/** Field slots of an entry, by the bytes of the key. */
export const enum Field {
  None = -1,
  Id,
  FileName,
  ImageId,
  CategoryId,
  Area,
  Name,
}
const FIELD_NAMES = ['id', 'file_name', 'image_id', 'category_id', 'area', 'name'] as const;

/** Whether the bytes from s on spell word (ASCII). */
function sameBytes(b: Uint8Array, s: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (b[s + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** The field a key (quotes at s and e - 1) names, or Field.None. */
export function fieldOf(b: Buffer, s: number, e: number, escaped: boolean): Field {
  if (escaped) {
    const index = (FIELD_NAMES as readonly string[]).indexOf(stringValue(b, s, e, true));
    return index as Field;
  }
  const n = e - s - 2;
  const k = s + 1;
  switch (n) {
    case 2:
      return sameBytes(b, k, 'id') ? Field.Id : Field.None;
    case 4:
      return sameBytes(b, k, 'area') ? Field.Area : sameBytes(b, k, 'name') ? Field.Name : Field.None;
    case 8:
      return sameBytes(b, k, 'image_id') ? Field.ImageId : Field.None;
    case 9:
      return sameBytes(b, k, 'file_name') ? Field.FileName : Field.None;
    case 11:
      return sameBytes(b, k, 'category_id') ? Field.CategoryId : Field.None;
    default:
      return Field.None;
  }
}

/** Stores a value in the entry's slot for field (nothing for Field.None). */
export function setField(entry: CocoEntry, field: Field, value: FieldValue): void {
  switch (field) {
    case Field.Id:
      entry.id = value;
      break;
    case Field.FileName:
      entry.file_name = value;
      break;
    case Field.ImageId:
      entry.image_id = value;
      break;
    case Field.CategoryId:
      entry.category_id = value;
      break;
    case Field.Area:
      entry.area = value;
      break;
    case Field.Name:
      entry.name = value;
      break;
    default:
      break;
  }
}
