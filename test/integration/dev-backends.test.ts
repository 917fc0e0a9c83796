/**
 * `npm run dev -- --backends 2`: two SoftHSM tokens with the same keys, both serving. GetHealthStatus has one
 * ACTIVE entry per token, and every ciphertext decrypts whichever backend made it and whichever decrypts it
 * (the router spreads operations over both).
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { decryptBody, encryptBody, healthBody, randomB64 } from '../helpers/conformance'
import { startDevServer } from '../helpers/dev-server'
import { XksClient } from '../helpers/xks-client'

t.test('--backends 2 serves from two tokens holding the same keys', async t => {
  // The deep check's latency bound is not what this test is about (on a busy 2-core machine a probe may take over
  // the default 100 ms and report DEGRADED).
  const server = await startDevServer({ args: ['--backends', '2'], env: { XKSGATE__health__degradedLatencyMs: '5000' } })
  const client = new XksClient(server.connection)
  t.teardown(async () => {
    client.close()
    await server.stop()
    fs.rmSync(server.dir, { recursive: true, force: true })
  })
  const prefix = server.connection.uriPrefix
  const health = await client.send({ path: `${prefix}/health`, body: healthBody() })
  const entries = health.json.ekmFleetDetails as Array<Record<string, unknown>>
  t.same(entries.map(e => e.healthStatus), ['ACTIVE', 'ACTIVE'], 'one entry per backend')
  t.match(entries.map(e => e.id), [/^xksgate-dev-1\//, /^xksgate-dev-2\//])

  const config = JSON.parse(fs.readFileSync(path.join(server.dir, 'config.json'), 'utf8'))
  t.same(config.hsm.map((b: { name: string }) => b.name), ['hsm-1', 'hsm-2'])

  const plaintexts = Array.from({ length: 12 }, () => randomB64(48))
  const encrypted = await Promise.all(plaintexts.map(async plaintext =>
    await client.send({ path: `${prefix}/keys/foo/encrypt`, body: encryptBody({ plaintext }) })))
  t.ok(encrypted.every(r => r.status === 200), 'every Encrypt served')
  const decrypted = await Promise.all(encrypted.map(async r =>
    await client.send({ path: `${prefix}/keys/foo/decrypt`, body: decryptBody(r.json) })))
  t.same(decrypted.map(r => r.json.plaintext), plaintexts, 'every ciphertext decrypts, on either backend')

  const metrics = await fetch(JSON.parse(fs.readFileSync(path.join(server.dir, 'connection.json'), 'utf8')).metricsUrl).then(async r => await r.text())
  t.match(metrics, /xksgate_hsm_backend_state\{backend="hsm-1",state="ACTIVE"\} 1/)
  t.match(metrics, /xksgate_hsm_backend_state\{backend="hsm-2",state="ACTIVE"\} 1/)
})
