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
import { COMMANDS } from './cli/commands'
import { createLogger, type Logger } from './log'
import { exitOnStartupFailure } from './runtime/exit'
import { launch } from './runtime/launch'
import { loadOrInherit } from './runtime/pm2-handover'
import { VERSION } from './version'

const PROGRAM = 'xksgate'

const HELP = `usage: xksgate --config FILE [--check]
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

async function main (log: Logger): Promise<void> {
  const args = parseCommandLine(PROGRAM, {
    config: { type: 'string' },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    version: { type: 'boolean', default: false },
  })
  if (args.help) {
    process.stdout.write(HELP)
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
