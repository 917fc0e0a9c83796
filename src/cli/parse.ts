/**
 * Argument parsing for subcommands: node:util parseArgs, strict, with its errors reported as one line and
 * USAGE_EXIT instead of a stack trace (the in-process twin of src/config/cli-args.ts, which exits).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { USAGE_EXIT, type CliIo } from './command'

type Options = NonNullable<ParseArgsConfig['options']>
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O, allowPositionals: true }>>

/** The option values with `positionals`, or USAGE_EXIT after one line on stderr. */
export function parseCliArgs<O extends Options> (program: string, args: string[], options: O, io: CliIo): (Parsed<O>['values'] & { positionals: string[] }) | number {
  try {
    const { values, positionals } = parseArgs({ options, args, strict: true, allowPositionals: true })
    return { ...values, positionals }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw err
    io.stderr(`${program}: ${(err as Error).message.split('. ')[0]} (see ${program} --help)\n`)
    return USAGE_EXIT
  }
}
