import fs from 'node:fs'
import https from 'node:https'
import { loadConfig } from '../../src/config/load'
import { DEV_KEYS, provisionDevEnvironment, writeJson } from '../../src/dev/provision'
import { FleetHealth } from '../../src/health/fleet-health'
import { HealthMonitor } from '../../src/health/health-monitor'
import { createLogger } from '../../src/log'
import { createRedisClient } from '../../src/redis/connect'
import { createReplayGuard } from '../../src/replay/create-replay-guard'
import { redisConnectionOptions } from '../../src/runtime/redis-deps'
import { VERSION } from '../../src/version'
import { Admission } from '../../src/xks/admission'
import { Authenticator } from '../../src/xks/authenticate'
import type { XksHttpRequest } from '../../src/xks/http-types'
import { buildKeyStores } from '../../src/xks/key-stores'
import { createXksHandler } from '../../src/xks/pipeline'
import { SyncHsm } from './sync-hsm'

/**
 * Scenario f, the naive baseline: the conventional single-process design, written as well as that design
 * allows. node:https with keep-alive, the very same XKS core as xksgate (routing, SigV4, replay cache, admission,
 * validation, operations, logging), and pkcs11js called synchronously on the main thread.
 * Usage: node naive-server.js DIR PORT [REDIS_URL] — DIR is a dev environment as the proxy CLI provisions it (made
 * if missing). Once listening it writes DIR/naive-connection.json, shaped like the CLI's connection.json.
 */

async function main (): Promise<void> {
  const [dir, port, redisUrl] = process.argv.slice(2)
  // Reuses DIR's token, keys, credentials and certificate (and points SOFTHSM2_CONF at them).
  const env = await provisionDevEnvironment(dir, Number(port))
  // The same Redis client settings as the proxy's, defaulted by the config schema.
  if (redisUrl !== undefined) process.env.XKSGATE__redis = JSON.stringify({ url: redisUrl })
  const config = loadConfig({ file: env.configFile })
  const log = createLogger({ level: config.log.level })
  const hsm = new SyncHsm(config.hsm[0].modulePath, config.hsm[0].tokenLabel, config.hsm[0].pin.reveal())
  const redis = config.redis === undefined ? undefined : createRedisClient(redisConnectionOptions(config))
  const monitor = new HealthMonitor({
    hsm,
    keyLabel: config.health.keyLabel,
    intervalMs: config.health.intervalMs,
    degradedLatencyMs: config.health.degradedLatencyMs,
    timeoutMs: config.hsm[0].opTimeoutMs,
    expectedSessions: 1,
    log,
  })
  const health = new FleetHealth([{ name: 'naive', monitor, outReason: () => undefined }])
  await health.start()
  const stores = buildKeyStores(config.keyStores, config.auth.maxSkewSeconds)
  const handler = createXksHandler({
    stores,
    authenticator: new Authenticator(config.auth.maxSkewSeconds, createReplayGuard({ log, config, redis }), config.server.requestTimeoutMs),
    admission: new Admission({ maxInFlight: config.server.maxInFlight, requestTimeoutMs: config.server.requestTimeoutMs, hsmTimeoutMs: config.hsm[0].opTimeoutMs }),
    hsm,
    health: {
      health,
      identity: { proxyVendor: config.health.proxyVendor, proxyModel: `naive baseline ${VERSION}`, ekmVendor: config.health.ekmVendor },
      fleetSize: () => 1,
      maxAgeMs: 60_000,
    },
    limits: config.limits,
    hsmTimeoutMs: config.hsm[0].opTimeoutMs,
    requestTimeoutMs: config.server.requestTimeoutMs,
    log,
  })

  const server = https.createServer({
    cert: fs.readFileSync(config.server.tls.certFile),
    key: fs.readFileSync(config.server.tls.keyFile),
    keepAlive: true,
    keepAliveTimeout: 60_000,
    noDelay: true,
  }, (req, res) => {
    const receivedAt = Date.now()
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > config.server.maxBodyBytes) { res.writeHead(413).end(); req.destroy() } else chunks.push(chunk)
    })
    req.on('end', () => {
      const [path, query = ''] = (req.url ?? '/').split('?', 2)
      const xreq: XksHttpRequest = {
        method: req.method ?? 'GET',
        path,
        query,
        // Node joins repeated headers with ', ' (and drops duplicates of some); the XKS core only reads single ones.
        headers: req.headers as Record<string, string>,
        body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
        receivedAt,
        remoteAddress: req.socket.remoteAddress ?? '',
      }
      handler(xreq).then(r => {
        res.writeHead(r.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(r.body), ...r.headers })
        res.end(r.body)
        r.afterWrite?.(true)
      }, () => { res.writeHead(500).end() })
    })
  })
  server.listen(Number(port), '127.0.0.1', () => writeJson(`${dir}/naive-connection.json`, {
    endpoint: `https://127.0.0.1:${port}`,
    uriPrefix: config.keyStores[0].uriPrefix,
    region: 'us-east-1',
    accessKeyId: env.accessKeyId,
    secretAccessKey: env.secretAccessKey,
    keys: DEV_KEYS,
  }, 0o600))
  process.once('SIGTERM', () => { server.close(); process.exit(0) })
}

main().catch(err => {
  console.error('naive-server:', err)
  process.exit(1)
})
