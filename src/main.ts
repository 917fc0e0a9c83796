/**
 * Production entry point: `node dist/src/main.js --config /etc/xksgate/config.json` (or XKSGATE_CONFIG).
 * Under PM2 (wait_ready) it sends 'ready' once every serving process listens, so a reload never stops the old
 * process before the new one accepts connections.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config/load'
import { createLogger } from './log'
import { launch } from './runtime/launch'
import { PortInUseError } from './server/port-ownership'

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } })
  const file = values.config ?? process.env.XKSGATE_CONFIG
  if (file === undefined) {
    process.stderr.write('usage: xksgate --config <file.json>   (or set XKSGATE_CONFIG)\n')
    process.exit(2)
  }
  const config = loadConfig({ file })
  const instance = process.env.NODE_APP_INSTANCE
  const log = createLogger({ level: config.log.level, base: { worker: 0, ...(instance !== undefined && { instance: Number(instance) }) } })
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

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof PortInUseError
  process.stderr.write(`xksgate: ${known ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exit(err instanceof ConfigError ? 2 : 1)
})
