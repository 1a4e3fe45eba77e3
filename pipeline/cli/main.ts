/**
 * The only place that reads argv, talks to the process, and exits.
 */
import { parseArgs } from 'node:util';
import { isStyleAtlasError } from '../core/errors.ts';
import { isDiskFull, outputError } from '../store/output-errors.ts';
import { TOOL_VERSION } from '../version.ts';
import { type CliIO, type Command, renderUsage } from './command.ts';
import { type CommandSection, commandSections, commands } from './commands/index.ts';

/** The command list: by section (the order of the work) when given sections, else as listed. */
export function renderTopUsage(list: readonly Command[], sections?: readonly CommandSection[]): string {
  const width = Math.max(...list.map((c) => c.path.join(' ').length));
  const line = (c: Command) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`;
  const body = sections ? sections.flatMap((s) => ['', `${s.title}:`, ...s.commands.map(line)]) : ['', 'Commands:', ...list.map(line)];
  return [
    'styleatlas — StyleCLIP global directions for StyleGAN2 generators, as a catalogue.',
    '',
    'Usage: styleatlas <command> [options]      styleatlas <command> --help',
    ...(sections ? ['', 'Start here: `styleatlas demo` runs the whole job on the bundled tiny models and serves the site.'] : []),
    ...body,
    '',
  ].join('\n');
}

/**
 * `--alpha -4,-2,0` reads naturally but node's parseArgs takes "-4,…" for an option. A string
 * option followed by a token that starts like a negative number gets that token as its value.
 */
export function attachNegativeValues(args: readonly string[], options: Command['options']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i])?.[1];
    const next = args[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

/** Longest command path that prefixes argv. */
export function findCommand(list: readonly Command[], argv: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of list) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best;
}

function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    // A line starting with \r redraws the current one (progress bars): no newline added.
    err: (t) => process.stderr.write(t.startsWith('\r') || t.endsWith('\n') ? t : `${t}\n`),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

export async function runMain(argv: string[]): Promise<void> {
  const io = processIO();
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(renderTopUsage(commands, commandSections));
    return;
  }
  if (argv[0] === '--version') {
    io.out(TOOL_VERSION);
    return;
  }
  const cmd = findCommand(commands, argv);
  // A group word alone or with --help (`styleatlas import --help`) lists the group's commands.
  const group = commands.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
  if (!cmd && group.length > 0 && (argv.length === 1 || argv[1] === '--help' || argv[1] === '-h')) {
    io.out(renderTopUsage(group));
    return;
  }
  if (!cmd) {
    io.err(`E_USAGE: unknown command "${argv.join(' ')}"\n`);
    io.err(renderTopUsage(commands, commandSections));
    process.exitCode = 2;
    return;
  }
  const rest = argv.slice(cmd.path.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(renderUsage(cmd));
    return;
  }
  try {
    const { values, positionals } = parseArgs({
      args: attachNegativeValues(rest, cmd.options),
      options: cmd.options,
      allowPositionals: cmd.positionals ?? false,
      strict: true,
    });
    await cmd.run({ values, positionals, io });
  } catch (e) {
    process.exitCode = reportError(io, cmd, e);
  }
}

function reportError(io: CliIO, cmd: Command, raw: unknown): number {
  // A full disk can stop any write; where no stage named the file, the system's path (if any) is said.
  const e = isDiskFull(raw) ? outputError(raw, (raw as { path?: string }).path ?? 'an output') : raw;
  if (isStyleAtlasError(e)) {
    io.err(`${e.code}: ${e.message}`);
    if (e.hint) io.err(`  hint: ${e.hint}`);
    return e.code === 'E_USAGE' ? 2 : 1;
  }
  const code = (e as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    io.err(`E_USAGE: ${(e as Error).message}`);
    io.err(`  hint: styleatlas ${cmd.path.join(' ')} --help`);
    return 2;
  }
  io.err(`internal error: ${(e as Error)?.stack ?? String(e)}`);
  return 70;
}
