/**
 * Production entry point: `node dist/src/main.js --config /etc/xksgate/config.json` (or XKSGATE_CONFIG).
 * Under PM2 (wait_ready) it sends 'ready' once every serving process listens, so a reload never stops the old
 * process before the new one accepts connections.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from './config/load'
import { createLogger, type Logger } from './log'
import { exitOnStartupFailure } from './runtime/exit'
import { launch } from './runtime/launch'

async function main (log: Logger): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } })
  const file = values.config ?? process.env.XKSGATE_CONFIG
  if (file === undefined) {
    process.stderr.write('usage: xksgate --config <file.json>   (or set XKSGATE_CONFIG)\n')
    process.exit(2)
  }
  const config = loadConfig({ file })
  log.level = config.log.level
  await launch({
    config,
    configFile: path.resolve(file),
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
main(log).catch((err: unknown) => exitOnStartupFailure('xksgate', err, log))
