/**
 * A command made of subcommands (`xksgate keys create|list|…`): dispatch, `--help` at both levels, the shared
 * options (`--config`, `--json`), and configuration errors reported as one line per problem with exit 2.
 */
import { configFileFrom } from '../config/cli-args'
import type { ParseArgsConfig } from 'node:util'
import { OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { StartupError } from '../runtime/exit'
import { reportConfigError } from './config-file'
import { parseCliArgs } from './parse'

export type OptionValues = Record<string, string | boolean | undefined>

export interface Subcommand {
  name: string
  /** One line for the group's help. */
  summary: string
  /** The whole `--help` text. */
  help: string
  /** Options besides --help (and --config, which every subcommand takes). */
  options: NonNullable<ParseArgsConfig['options']>
  /** How many positional arguments it takes, and their names for the usage error. */
  positionals: string[]
  run (context: SubcommandContext): Promise<number> | number
}

export interface SubcommandContext {
  program: string
  /** The configuration file: --config, else $XKSGATE_CONFIG. */
  configFile: string
  values: OptionValues
  positionals: string[]
  io: CliIo
}

export function commandGroup (name: string, summary: string, subcommands: Subcommand[]): CliCommand {
  const help = `usage: xksgate ${name} SUBCOMMAND [--help] ...\n\n` +
    subcommands.map(s => `  ${s.name.padEnd(10)} ${s.summary}`).join('\n') +
    `\n\nEvery subcommand takes --config FILE (default: $XKSGATE_CONFIG); see xksgate ${name} SUBCOMMAND --help.\n` +
    'Exit status: 0 done; 1 the command ran and what it checked failed; 2 invalid command line or configuration.\n'
  return {
    name,
    summary,
    subcommands: subcommands.map(s => s.name),
    async run (args: string[], io: CliIo): Promise<number> {
      const split = splitSubcommand(`xksgate ${name}`, help, subcommands.map(s => s.name), args, io)
      if (typeof split === 'number') return split
      const sub = subcommands.find(s => s.name === split.name) as Subcommand
      return await runSubcommand(`xksgate ${name} ${sub.name}`, sub, split.rest, io)
    },
  }
}

/**
 * The first argument of a command made of subcommands: none prints `help` on stderr (exit 2), `--help` on stdout
 * (exit 0), a name not in `known` is one line naming `program` (exit 2); otherwise the name and the rest.
 */
export function splitSubcommand (program: string, help: string, known: readonly string[], args: string[], io: CliIo): { name: string, rest: string[] } | number {
  const [name, ...rest] = args
  if (name === '--help' || name === undefined) {
    io[name === undefined ? 'stderr' : 'stdout'](help)
    return name === undefined ? USAGE_EXIT : OK_EXIT
  }
  if (!known.includes(name)) {
    io.stderr(`${program}: unknown subcommand '${name}' (see ${program} --help)\n`)
    return USAGE_EXIT
  }
  return { name, rest }
}

async function runSubcommand (program: string, sub: Subcommand, args: string[], io: CliIo): Promise<number> {
  const parsed = parseCliArgs(program, args, { ...sub.options, config: { type: 'string' }, help: { type: 'boolean' } }, io)
  if (typeof parsed === 'number') return parsed
  const { positionals, ...values } = parsed as OptionValues & { positionals: string[] }
  if (values.help === true) { io.stdout(sub.help); return OK_EXIT }
  if (positionals.length !== sub.positionals.length) {
    const what = positionals.length > sub.positionals.length ? `unexpected argument '${positionals[sub.positionals.length]}'` : `missing ${sub.positionals[positionals.length]}`
    io.stderr(`${program}: ${what} (see ${program} --help)\n`)
    return USAGE_EXIT
  }
  const configFile = configFileFrom(values.config as string | undefined, io.env)
  if (configFile === undefined) {
    io.stderr(`${program}: no configuration: give --config FILE or set XKSGATE_CONFIG (see ${program} --help)\n`)
    return USAGE_EXIT
  }
  try {
    return await sub.run({ program, configFile, values, positionals, io })
  } catch (err) {
    // The HSM did not answer, or refused: one line, and the error's own exit status (1).
    if (err instanceof StartupError) { io.stderr(`${program}: ${err.message}\n`); return err.exitCode }
    return reportConfigError(program, err, io)
  }
}

/** A usage error raised from inside a subcommand: one line, exit 2. */
export function usageError (context: SubcommandContext, message: string): number {
  context.io.stderr(`${context.program}: ${message} (see ${context.program} --help)\n`)
  return USAGE_EXIT
}
