/**
 * `fieldmoe <command> [flags]`: the CLI entry (bin/fieldmoe.mjs calls `main`). Bad input
 * prints one line and exits 1; Ctrl-C cancels the running job (no partial output) and exits
 * 130; anything else is a bug and prints its stack (exit 2).
 */
import { FieldMoeError, isCancelled } from '../util/errors';
import { commands, getCommand, parseFlags, type CliIO } from './command';
import './commands/index'; // registers every command

export function helpText(): string {
  const width = Math.max(...commands().map((c) => c.name.length));
  return `fieldmoe: offline land-cover mapping from multi-sensor scenes

usage: fieldmoe <command> [flags]      fieldmoe <command> --help

commands:
${commands()
  .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  .join('\n')}
`;
}

export async function main(argv: string[], io?: Partial<CliIO>): Promise<number> {
  const abort = new AbortController();
  // First Ctrl-C: cancel cleanly (temp files removed). A second one: leave at once.
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\ncancelling... (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  const cli: CliIO = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTTY: !!process.stderr.isTTY,
    signal: abort.signal,
    ...io,
  };
  if (!io?.signal) process.on('SIGINT', onSigint);
  try {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      cli.out(helpText());
      return name ? 0 : 1;
    }
    const command = getCommand(name);
    if (!command) throw new FieldMoeError(`fieldmoe ${name}`, `unknown command; commands: ${commands().map((c) => c.name).join(', ')}`);
    const { flags, positionals } = parseFlags(command, rest);
    if (flags.help) {
      cli.out(command.usage + '\n');
      return 0;
    }
    return await command.run(flags, positionals, cli);
  } catch (err) {
    if (isCancelled(err)) {
      cli.err('cancelled; no output written\n');
      return 130;
    }
    if (err instanceof FieldMoeError) {
      cli.err(`error: ${err.message.replace(/\s*\n\s*/g, " ")}\n`);
      return 1;
    }
    cli.err(`internal error (a bug, please report it):\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
