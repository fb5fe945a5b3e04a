/**
 * The kinds of setting a table row can be (an integer in a range, a real, a
 * choice, a switch, a text), each built from named options so a row reads
 * `integer({ min: 1, max: 1000, default: 50, help })`: which number is the
 * default is never a matter of position. The training settings, the
 * experiment's flags and their reference are tables of these rows.
 */
import { previewJson } from '../io/json.js';

/** One row of a settings table: a setting's default, help text, flag, parser, check and range. */
export interface Setting<T> {
  default: T;
  /** The flag's help text, also the reference's. */
  help: string;
  /** The command-line flag's value name, e.g. '<n>'; absent for a switch (boolean) or a setting with no flag. */
  flag?: string | false;
  /** Reads a command-line value (with the value so far, for a flag that may be given again); throws a message on bad input. */
  parse?: (text: string, previous?: T) => T;
  /** The problem with a value, or undefined when it is fine ("must be a positive integer, got 0"). */
  check: (value: unknown) => string | undefined;
  /** The values a choice setting takes. */
  choices?: readonly string[];
  /** A numeric setting's least and greatest value. */
  range?: [number, number];
  /** The default in words where its value depends on the machine (the reference shows this, not this machine's value). */
  defaultText?: string;
}

/** What every kind of row is given: its help text, and its flag's value name where the kind's own does not fit. */
interface RowOptions<T> {
  default: T;
  help: string;
  flag?: string | false;
}

/** A value in a message: short, whatever the file held (a 50 MB string, a list nested 200,000 deep). */
export const got = (v: unknown) => (typeof v === 'string' && v.length <= 80 ? `'${v}'` : previewJson(v));

/** A command-line number, any finite one; its range is the setting's check. */
export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error('must be a number');
  return n;
}

/** An integer setting in [min, max]: every count has a ceiling, so 1e308 is refused before it reaches a loop or a native call. */
export function integer({
  min,
  max,
  default: fallback,
  help,
  flag = '<n>',
}: RowOptions<number> & { min: number; max: number }): Setting<number> {
  const what = `an integer from ${min} to ${max.toLocaleString('en-US')}`;
  const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= min && (n as number) <= max;
  return {
    default: fallback,
    help,
    flag,
    range: [min, max],
    parse: (text) => {
      const n = Number(text);
      if (text.trim() === '' || !ok(n)) throw new Error(`must be ${what}, got ${text}`);
      return n;
    },
    check: (v) => (ok(v) ? undefined : `must be ${what}, got ${got(v)}`),
  };
}

/** A real setting in [min, max] (an end open where `open` says so): the range is part of the setting, and of its message. */
export function real({
  min,
  max,
  open = {},
  default: fallback,
  help,
  flag = '<x>',
}: RowOptions<number> & { min: number; max: number; open?: { min?: boolean; max?: boolean } }): Setting<number> {
  const show = (n: number) => (Math.abs(n) >= 1e6 ? n.toExponential().replace('e+', 'e') : String(n));
  const what = `in ${open.min ? '(' : '['}${show(min)}, ${show(max)}${open.max ? ')' : ']'}`;
  const ok = (n: number) => (open.min ? n > min : n >= min) && (open.max ? n < max : n <= max);
  return {
    default: fallback,
    help,
    flag,
    range: [min, max],
    parse: number,
    check: (v) => (typeof v === 'number' && Number.isFinite(v) && ok(v) ? undefined : `must be a number ${what}, got ${got(v)}`),
  };
}

/** One of a list of names. */
export function choice<const C extends readonly string[]>(
  choices: C,
  { default: fallback, help, flag = '<name>' }: RowOptions<C[number]>,
): Setting<C[number]> & { choices: C } {
  return {
    default: fallback,
    help,
    flag,
    choices,
    parse: (text) => text as C[number],
    check: (v) => (choices.includes(v as string) ? undefined : `must be one of ${choices.join(', ')}, got ${got(v)}`),
  };
}

/** A switch, off unless given (`--augment`); one on by default is turned off by its `--no-` flag. */
export function onOff({
  help,
  default: fallback = false,
}: Omit<RowOptions<boolean>, 'default' | 'flag'> & { default?: boolean }): Setting<boolean> {
  return { default: fallback, help, check: (v) => (typeof v === 'boolean' ? undefined : `must be true or false, got ${got(v)}`) };
}

/** A non-empty text: a name or a folder. */
export function text({ default: fallback, help, flag = '<name>' }: RowOptions<string>): Setting<string> {
  return {
    default: fallback,
    help,
    flag,
    parse: (t) => t,
    check: (v) => (typeof v === 'string' && v.length > 0 ? undefined : `must be a non-empty string, got ${got(v)}`),
  };
}
