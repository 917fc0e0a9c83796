#!/usr/bin/env node
/**
 * The `xksgate` command. With a subcommand first (`xksgate keys list …`) it runs that command (src/cli/);
 * otherwise it is the proxy: `xksgate --config /etc/xksgate/config.json` (or XKSGATE_CONFIG).
 * Under PM2 (wait_ready) it sends 'ready' once every serving process listens, so a reload never stops the old
 * process before the new one accepts connections.
 */
// First: libuv's thread pool is sized before anything uses it.
import './runtime/uv-pool'
import path from 'node:path'
import { configFileFrom, exitWithUsageError, parseCommandLine } from './config/cli-args'
import { checkConfigFile } from './cli/config-check'
import { COMMANDS, PROGRAM_HELP } from './cli/commands'
import { createLogger, type Logger } from './log'
import { exitOnStartupFailure } from './runtime/exit'
import { launch } from './runtime/launch'
import { loadOrInherit } from './runtime/pm2-handover'
import { VERSION } from './version'

const PROGRAM = 'xksgate'

async function main (log: Logger): Promise<void> {
  const args = parseCommandLine(PROGRAM, {
    config: { type: 'string' },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    version: { type: 'boolean', default: false },
  })
  if (args.help) {
    process.stdout.write(PROGRAM_HELP)
    return
  }
  if (args.version) {
    process.stdout.write(`${PROGRAM} ${VERSION}\n`)
    return
  }
  const file = configFileFrom(args.config, process.env)
  if (file === undefined) exitWithUsageError(PROGRAM, 'no configuration: give --config FILE or set XKSGATE_CONFIG')
  if (args.check) {
    process.exitCode = checkConfigFile(PROGRAM, file, { stdout: text => process.stdout.write(text), stderr: text => process.stderr.write(text), env: process.env })
    return
  }
  const configFile = path.resolve(file)
  const { config, tls } = await loadOrInherit(configFile, log)
  log.level = config.log.level
  await launch({
    config,
    tls,
    configFile,
    log,
    onReady: ({ port, metricsPort }) => {
      log.info({ port, metricsPort }, 'ready')
      process.send?.('ready')
    },
  })
}

const instance = process.env.NODE_APP_INSTANCE
// Created before the config is read (at its default level), so that even a config error is logged as JSON.
const log = createLogger({ level: 'info', base: { worker: 0, ...(instance !== undefined && { instance: Number(instance) }) } })
const command = COMMANDS.find(c => c.name === process.argv[2])
if (command !== undefined) {
  const io = { stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text), env: process.env }
  command.run(process.argv.slice(3), io).then(status => { process.exitCode = status }, (err: unknown) => exitOnStartupFailure(`${PROGRAM} ${command.name}`, err, log))
} else {
  main(log).catch((err: unknown) => exitOnStartupFailure(PROGRAM, err, log))
}
