/**
 * What a command is: a name, its options, a help text, and a function of parsed values.
 * Commands never read process.argv or call process.exit; main.ts does.
 */
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CliIO {
  /** Results (JSON, ids, paths): what a script would parse. */
  out(text: string): void;
  /** Human progress and warnings; a newline is added unless the text starts with \r (redraw). */
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars) or a log (plain lines). */
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface CommandContext {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  io: CliIO;
}

export interface Command {
  /** Words that select it, e.g. ['models', 'build']. */
  path: readonly string[];
  summary: string;
  /** The usage line(s) after the command name, e.g. '--generator DIR [--seeds A-B] --out FILE'. */
  usage: string;
  /** Longer description with option explanations. */
  details: string;
  options: OptionSpec;
  /** Allow positional arguments (default false). */
  positionals?: boolean;
  run(ctx: CommandContext): Promise<void>;
}

export function defineCommand(c: Command): Command {
  return c;
}

export function renderUsage(c: Command): string {
  return [
    `styleatlas ${c.path.join(' ')} — ${c.summary}`,
    '',
    `Usage: styleatlas ${c.path.join(' ')} ${c.usage}`.trimEnd(),
    '',
    c.details.trim(),
    '',
  ].join('\n');
}
