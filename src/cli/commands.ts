/** Every `xksgate` subcommand, in the order `xksgate --help` lists them. Add a command here and nowhere else. */
import { auditCommand } from './audit'
import type { CliCommand } from './command'
import { configCommand } from './config-check'
import { credentialsCommand } from './credentials'
import { doctorCommand } from './doctor'
import { keysCommand } from './keys'
import { kmsConfigCommand } from './kms-config'
import { readyCommand } from './ready'
import { policyCommand } from './policy'
import { selftestCommand } from './selftest'
import { reloadCommand } from './reload'

export const COMMANDS: readonly CliCommand[] = [
  configCommand,
  keysCommand,
  credentialsCommand,
  kmsConfigCommand,
  policyCommand,
  doctorCommand,
  selftestCommand,
  auditCommand,
  reloadCommand,
  readyCommand,
]
