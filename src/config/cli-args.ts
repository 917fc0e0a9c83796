/**
 * Command-line parsing for the entry points (main.js, the dev CLI): node:util parseArgs, strict, with its
 * errors — an unknown option, a missing value, a stray argument — reported as one line and exit status 2 rather
 * than an ERR_PARSE_ARGS_* stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { CONFIG_ERROR_EXIT } from './load'

type Options = NonNullable<ParseArgsConfig['options']>

/** Writes `program: message (see program --help)` on stderr and exits 2. */
export function exitWithUsageError (program: string, message: string): never {
  process.stderr.write(`${program}: ${message} (see ${program} --help)\n`)
  process.exit(CONFIG_ERROR_EXIT)
}

export function parseCommandLine<O extends Options> (program: string, options: O, args = process.argv.slice(2)): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  try {
    return parseArgs({ options, args, strict: true, allowPositionals: false }).values
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw err
    // parseArgs' first sentence says it all ("Unknown option '--x'"); the rest is advice about positionals.
    exitWithUsageError(program, (err as Error).message.split('. ')[0])
  }
}

/** The configuration file a command was given: `--config FILE`, else $XKSGATE_CONFIG (empty names no file). */
export function configFileFrom (given: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return given ?? (env.XKSGATE_CONFIG || undefined)
}
