/**
 * The CLI's command registry: each command declares its flags (node:util parseArgs config),
 * its help text and a run function. `fieldmoe <name>` looks the command up here; other issues
 * add `finetune`, `eval`, `train` by registering more commands, not by editing a switch.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FieldMoeError } from '../util/errors';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress redraws in place). */
  isTTY: boolean;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

export type ParsedFlags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  name: string;
  /** One line for `fieldmoe --help`. */
  summary: string;
  /** Full help for `fieldmoe <name> --help`. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether positional arguments are accepted. */
  positionals?: boolean;
  run(flags: ParsedFlags, positionals: string[], io: CliIO): Promise<number>;
}

const registry = new Map<string, Command>();

export function registerCommand(command: Command): void {
  if (registry.has(command.name)) throw new Error(`command ${command.name} is registered twice`);
  registry.set(command.name, command);
}

export function getCommand(name: string): Command | undefined {
  return registry.get(name);
}

export function commands(): Command[] {
  return [...registry.values()];
}

/** Parses argv for a command; parse problems become one-line errors naming the flag. */
export function parseFlags(command: Command, argv: string[]): { flags: ParsedFlags; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: withNegativeValues(command, argv), options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: command.positionals ?? false, strict: true });
    return { flags: values as ParsedFlags, positionals };
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    const flag = /'(-[^']+)'/.exec(message)?.[1] ?? `fieldmoe ${command.name}`;
    throw new FieldMoeError(flag, `${message.replace(/\.$/, '')} (see fieldmoe ${command.name} --help)`);
  }
}

/**
 * `--flag -3` as `--flag=-3` for a flag that takes a value: parseArgs reads a value starting with
 * a dash as another flag and calls the first ambiguous, where the range check has the better
 * message ("--epochs: -3 must be an integer >= 1").
 */
function withNegativeValues(command: Command, argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : undefined;
    if (name && command.options[name]?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

// ---- typed flag readers ------------------------------------------------------------------------

export function stringFlag(flags: ParsedFlags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredFlag(flags: ParsedFlags, name: string, command: string): string {
  const v = stringFlag(flags, name);
  if (!v) throw new FieldMoeError(`--${name}`, `is required (see fieldmoe ${command} --help)`);
  return v;
}

export function listFlag(flags: ParsedFlags, name: string): string[] {
  const v = flags[name];
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.filter((x): x is string => typeof x === 'string');
}

export function intFlag(flags: ParsedFlags, name: string, min: number): number | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new FieldMoeError(`--${name}`, `"${v}" must be an integer >= ${min}`);
  return n;
}

/** Comma- or repeat-separated ids: `--missing s1,s2` or `--missing s1 --missing s2`. */
export function idsFlag(flags: ParsedFlags, name: string): string[] {
  return listFlag(flags, name).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}
