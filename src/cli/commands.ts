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
import { whyCommand } from './why'

export const COMMANDS: readonly CliCommand[] = [
  configCommand,
  keysCommand,
  credentialsCommand,
  kmsConfigCommand,
  policyCommand,
  doctorCommand,
  selftestCommand,
  auditCommand,
  whyCommand,
  reloadCommand,
  readyCommand,
]

/** `xksgate --help`: the proxy's own options, then every command. */
export const PROGRAM_HELP = `usage: xksgate --config FILE [--check]
       xksgate COMMAND [--help] ...

  --config FILE  the JSON configuration (default: $XKSGATE_CONFIG); XKSGATE__section__field=value overrides a field
  --check        validate the configuration (schema, secrets, cross-field rules, the TLS certificate and key) and
                 exit without starting: 0 valid, 2 invalid. The HSM login and every configured key are checked
                 when the proxy starts.
  --version      print the version and exit
  --help         print this help and exit

Commands:
${COMMANDS.map(c => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Exit status: 0 stopped cleanly; 2 invalid command line or configuration (restarting cannot help); 1 any other
failure, e.g. a port in use.
`
