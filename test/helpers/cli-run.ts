/**
 * Runs an `xksgate` subcommand in-process, as src/main.ts would, capturing what it writes; and a configuration
 * file for a test token (test/helpers/softhsm.ts) in a fixture directory (test/helpers/config-fixture.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { COMMANDS } from '../../src/cli/commands'
import { configFixture, type ConfigFixture } from './config-fixture'
import type { TestToken } from './softhsm'

export interface CliResult { status: number, stdout: string, stderr: string }

export async function runCli (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  const command = COMMANDS.find(c => c.name === args[0])
  if (command === undefined) throw new Error(`no command ${args[0]}`)
  let stdout = ''
  let stderr = ''
  const status = await command.run(args.slice(1), { stdout: text => { stdout += text }, stderr: text => { stderr += text }, env })
  return { status, stdout, stderr }
}

export interface TokenConfig extends ConfigFixture {
  file: string
  /** The file as JSON, read now. */
  read: () => Record<string, any>
}

/** A valid config file whose hsm section is the test token, with customer key `foo` and health key `health`. */
export function tokenConfig (token: TestToken): TokenConfig {
  const fixture = configFixture()
  fixture.config.hsm = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: { env: 'TEST_PIN' } }
  fixture.env = { ...process.env, TEST_PIN: token.pin }
  const file = path.join(fixture.dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(fixture.config, null, 2) + '\n', { mode: 0o640 })
  return { ...fixture, file, read: () => JSON.parse(fs.readFileSync(file, 'utf8')) }
}
