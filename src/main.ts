/**
 * Production entry point: `node dist/src/main.js --config /etc/xksgate/config.json` (or XKSGATE_CONFIG).
 */
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config/load'
import { createLogger } from './log'
import { startXksgate } from './runtime/xksgate'
import { exitOnShutdownSignals } from './runtime/shutdown'

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } })
  const file = values.config ?? process.env.XKSGATE_CONFIG
  if (file === undefined) {
    process.stderr.write('usage: xksgate --config <file.json>   (or set XKSGATE_CONFIG)\n')
    process.exit(2)
  }
  const config = loadConfig({ file })
  const log = createLogger({ level: config.log.level })
  const running = await startXksgate(config, log)
  exitOnShutdownSignals(log, async () => { await running.close() })
}

main().catch((err: unknown) => {
  process.stderr.write(`xksgate: ${err instanceof ConfigError ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exit(err instanceof ConfigError ? 2 : 1)
})
