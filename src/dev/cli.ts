/**
 * `npm run dev -- --dir DIR --port PORT`: the embedded default. Provisions DIR on first use, serves on
 * 127.0.0.1:PORT, and writes DIR/connection.json once it is ready to serve (the scripted contract in README.md).
 * SIGTERM or SIGINT stops it cleanly and removes connection.json.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config/load'
import { createLogger } from '../log'
import { startXksgate } from '../runtime/xksgate'
import { exitOnShutdownSignals } from '../runtime/shutdown'
import { DEV_KEYS, provisionDevEnvironment, writeJson } from './provision'

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: '.xksgate-dev' },
      port: { type: 'string', default: '8443' },
    },
  })
  const dir = path.resolve(values.dir)
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${values.port}`)

  const env = await provisionDevEnvironment(dir, port)
  const config = loadConfig({ file: env.configFile })
  const log = createLogger({ level: config.log.level })
  const running = await startXksgate(config, log)

  const connectionFile = path.join(dir, 'connection.json')
  writeJson(connectionFile, {
    endpoint: `https://127.0.0.1:${running.port}`,
    uriPrefix: config.keyStores[0].uriPrefix,
    region: 'us-east-1',
    accessKeyId: env.accessKeyId,
    secretAccessKey: env.secretAccessKey,
    keys: DEV_KEYS,
    caFile: env.certFile,
  }, 0o600)
  log.info({ connectionFile }, 'ready: connection details written')
  exitOnShutdownSignals(log, async () => {
    fs.rmSync(connectionFile, { force: true })
    await running.close()
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`xksgate dev: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`)
  process.exit(1)
})
