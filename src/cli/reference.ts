/**
 * docs/cli.md, generated from the program's own definition (program.ts):
 * every command and subcommand, its arguments, and each flag with its
 * default, range or choices and help text. `npm run docs` writes it; a test
 * fails when the committed file differs from what this generates, so the
 * reference cannot drift from the code.
 */
import type { Argument, Command, Option } from 'commander';

/** Facts about a flag that commander does not hold (a setting's default, an integer's range), by option or by parser. */
export type FlagFacts = WeakMap<
  object,
  {
    default?: unknown;
    /** What the default is where its value depends on the machine (threads: every core). */
    defaultText?: string;
    range?: [number, number];
    /** The range where it depends on the machine. */
    rangeText?: string;
  }
>;

/** Markdown's table cell: pipes escaped, one line. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function shown(value: unknown): string {
  if (value === undefined) return '';
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

/** A command's full name: skipstudio data coco. */
function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function optionRow(option: Option, facts: FlagFacts): string[] {
  const known = facts.get(option) ?? (option.parseArg ? facts.get(option.parseArg) : undefined) ?? {};
  const fallback = option.defaultValue ?? known.default;
  // A switch's false and an empty list are no default worth printing.
  const defaultText =
    known.defaultText !== undefined
      ? known.defaultText
      : fallback === false ||
          (Array.isArray(fallback) && fallback.length === 0) ||
          (typeof fallback === 'object' && fallback !== null && !Array.isArray(fallback) && Object.keys(fallback).length === 0)
        ? ''
        : shown(fallback);
  const range = known.range === undefined ? '' : `${known.range[0].toLocaleString('en-US')} to ${known.range[1].toLocaleString('en-US')}`;
  const allowed = option.argChoices ? option.argChoices.map((c) => `\`${c}\``).join(', ') : (known.rangeText ?? range);
  return [`\`${option.flags}\``, defaultText, allowed, option.description];
}

function argumentRow(argument: Argument): string[] {
  const name = `${argument.required ? '<' : '['}${argument.name()}${argument.variadic ? '...' : ''}${argument.required ? '>' : ']'}`;
  return [`\`${name}\``, shown(argument.defaultValue), argument.description];
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)];
}

/** Commands in the order --help lists them, subcommands after their parent. */
function commandsOf(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...commandsOf(c)]);
}

function commandSection(command: Command, facts: FlagFacts): string[] {
  const lines = [`## ${fullName(command)}`, '', command.description(), ''];
  if (command.commands.length > 0) {
    lines.push(
      ...table(
        ['subcommand', 'what it does'],
        command.commands.map((c) => [`[${fullName(c)}](#${anchor(c)})`, c.description()]),
      ),
      '',
    );
    return lines;
  }
  lines.push('```', `${fullName(command)} ${command.usage()}`, '```', '');
  const args = command.registeredArguments;
  if (args.length > 0) lines.push(...table(['argument', 'default', 'what it is'], args.map(argumentRow)), '');
  const options = command.options.filter((o) => !o.hidden);
  if (options.length > 0)
    lines.push(
      ...table(
        ['flag', 'default', 'range or choices', 'what it does'],
        options.map((o) => optionRow(o, facts)),
      ),
      '',
    );
  return lines;
}

/** The anchor GitHub gives a command's heading. */
/** GitHub's anchor for a markdown heading: lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchor(command: Command): string {
  return githubSlug(fullName(command));
}

/** The whole reference, as docs/cli.md holds it. */
export function cliReference(program: Command, facts: FlagFacts): string {
  const commands = commandsOf(program);
  return [
    '# The skipstudio command line',
    '',
    '<!-- Generated from src/cli/program.ts by `npm run docs`: edit the program, not this file. A test fails when this file is stale. -->',
    '',
    `${program.description()} Every command also takes \`--help\`, which prints what this page says of it.`,
    '',
    ...table(
      ['command', 'what it does'],
      program.commands.map((c) => [`[${fullName(c)}](#${anchor(c)})`, c.description()]),
    ),
    '',
    ...commands.flatMap((c) => commandSection(c, facts)),
  ]
    .join('\n')
    .replace(/\n+$/, '\n');
}
