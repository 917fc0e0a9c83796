/**
 * One `xksgate` subcommand (`xksgate keys …`, `xksgate config check …`). Each lives in its own file under
 * src/cli/ and is listed once in ./commands.ts; the dispatcher in ./dispatch.ts knows nothing else about it.
 */
export interface CliCommand {
  /** The first word after `xksgate`. */
  readonly name: string
  /** One line for `xksgate --help`. */
  readonly summary: string
  /** The names of its subcommands, for a command made of them (`keys create|list|…`). */
  readonly subcommands?: readonly string[]
  /**
   * Runs with the arguments after the name and resolves to the exit status. Output goes to `io`, so tests can run a
   * command in-process; usage errors resolve to USAGE_EXIT after writing one line to stderr.
   */
  run (args: string[], io: CliIo): Promise<number>
}

export interface CliIo {
  stdout (text: string): void
  stderr (text: string): void
  env: NodeJS.ProcessEnv
}

/** A command that did what it was asked. */
export const OK_EXIT = 0
/** The command ran, and what it checked failed (a doctor check, a selftest case, an audit chain). */
export const FAILED_EXIT = 1
/** Invalid command line or configuration: running it again unchanged cannot help. Same as the proxy's. */
export const USAGE_EXIT = 2
