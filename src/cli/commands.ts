/** Every `xksgate` subcommand, in the order `xksgate --help` lists them. Add a command here and nowhere else. */
import type { CliCommand } from './command'
import { configCommand } from './config-check'
import { keysCommand } from './keys'

export const COMMANDS: readonly CliCommand[] = [
  configCommand,
  keysCommand,
]
