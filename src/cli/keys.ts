/** `xksgate keys create|list|describe|disable|enable|rotate` (the subcommands are in ./keys/). */
import { commandGroup } from './command-group'
import { createKey } from './keys/create'
import { disableKey, enableKey } from './keys/disable'
import { describeKey, listKeys } from './keys/inspect'
import { rotateKey } from './keys/rotate'

export const keysCommand = commandGroup('keys', 'keys create|list|describe|disable|enable|rotate: the external keys and their HSM keys',
  [createKey, listKeys, describeKey, disableKey, enableKey, rotateKey])
