/**
 * A real remote PKCS#11 hop between the proxy and SoftHSM: p11-kit's server holds the token, the proxy loads
 * p11-kit's client module (test/helpers/p11-kit.ts). The conformance suite runs through the same hop with
 * XKSGATE_TEST_HSM=p11-kit; this file checks what the proxy does when the far side goes away and comes back.
 *
 * p11-kit 0.24 (Debian 12) does not carry the AES-GCM parameters in its RPC: there the proxy must refuse to start,
 * naming the module, and the hop itself runs on Debian 13's p11-kit 0.25 from the directory that
 * deploy/compat/p11-kit-root.sh makes (.ci/run makes it; without it, or without root, those cases skip and say why).
 */
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { SAMPLE, decryptBody, encryptBody, healthBody, pretty } from '../helpers/conformance'
import { type DevServer, startDevServer } from '../helpers/dev-server'
import { carriesGcm, hostP11Kit, type P11Kit, remoteDevHsm, rootP11Kit, startP11KitServer } from '../helpers/p11-kit'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

/** An HSM call's budget: what a request meeting the far side down waits for it, kept short so that the file is. */
const OP_TIMEOUT_MS = 1000
/** The issue's bound: every request served again this long after the far side is back. */
const SERVED_AGAIN_MS = 1000
/** Closed-loop clients during the restart: a load this 2-core machine holds beside another test file. */
const LOAD_CLIENTS = 16

t.test('the proxy behind p11-kit server and client', async t => {
  const host = hostP11Kit()
  if (host === undefined) throw new Error('p11-kit-modules is not installed (npm test\'s bootstrap installs p11-kit, which depends on it)')
  const hostCarriesGcm = await carriesGcm(host)
  if (!hostCarriesGcm) {
    await t.test('p11-kit without AES-GCM in its RPC (0.24): the proxy refuses to start, naming the module', async t => {
      const dir = fs.mkdtempSync(path.join(host.tmpDir, 'xksgate-hop-'))
      t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
      const remote = await remoteDevHsm(dir, host)
      t.teardown(async () => await remote.server.stop())
      const refused = await startDevServer({ dir, env: remote.env, node: remote.node }).then(s => s, (err: Error) => err)
      t.type(refused, Error, 'the start failed')
      t.match((refused as Error).message, /exited with 2:[^]*\/hsm\/modulePath: the HSM behind \S*p11-kit-client\.so \(backend "xksgate-dev"\) refuses AES-GCM \(C_EncryptInit: CKR_MECHANISM_INVALID\)/)
    })
  }
  const kit = hostCarriesGcm ? host : rootP11Kit()
  if ('unavailable' in kit) {
    await t.test('through p11-kit 0.25: serving, the far side down, the far side restarting under load', { skip: kit.unavailable }, () => {})
    return
  }
  await t.test(`through ${kit.origin}`, async t => await hopCases(t, kit))
})

async function hopCases (t: Test, kit: P11Kit): Promise<void> {
  const dir = fs.mkdtempSync(path.join(kit.tmpDir, 'xksgate-hop-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const remote = await remoteDevHsm(dir, kit)
  let farSide = remote.server
  t.teardown(async () => await farSide.stop())
  const restartFarSide = async (): Promise<void> => {
    farSide = await startP11KitServer({ kit, softhsmConf: path.join(dir, 'softhsm', 'softhsm2.conf'), tokenLabel: 'xksgate-dev', socketPath: farSide.socketPath })
  }

  // The deep health check every second, and a slow answer from this loaded machine still ACTIVE, not DEGRADED.
  const env = { XKSGATE__hsm__opTimeoutMs: String(OP_TIMEOUT_MS), XKSGATE__health__intervalMs: '1000', XKSGATE__health__degradedLatencyMs: '10000' }
  const server: DevServer = await startDevServer({ dir, env: { ...remote.env, ...env }, node: remote.node })
  t.teardown(async () => await server.stop())
  const client = new XksClient(server.connection)
  t.teardown(() => client.close())
  const { uriPrefix, keys } = server.connection
  const encrypt = async (c = client): Promise<{ status: number, json: Record<string, unknown> }> => await c.send({
    path: `${uriPrefix}/keys/${keys.encryptDecrypt}/encrypt`,
    body: pretty(encryptBody({ plaintext: SAMPLE.plaintext })),
  })
  const health = async (): Promise<string[]> => {
    const res = await client.send({ path: `${uriPrefix}/health`, body: pretty(healthBody()) })
    return (res.json.ekmFleetDetails as Array<{ healthStatus: string }> | undefined)?.map(e => e.healthStatus) ?? [`status ${res.status}`]
  }

  await t.test('serves through the hop: an encryption decrypts back', async t => {
    const encrypted = await encrypt()
    t.equal(encrypted.status, 200)
    const decrypted = await client.send({ path: `${uriPrefix}/keys/${keys.encryptDecrypt}/decrypt`, body: pretty(decryptBody(encrypted.json)) })
    t.equal(decrypted.status, 200)
    t.equal(decrypted.json.plaintext, SAMPLE.plaintext)
    t.same(await health(), ['ACTIVE'])
  })

  await t.test('while the far side is down: 503 by the HSM deadline, the backend named in the log, health UNAVAILABLE', async t => {
    await farSide.stop()
    const started = Date.now()
    const whileDown = await encrypt()
    const tookMs = Date.now() - started
    t.equal(whileDown.status, 503, 'DependencyTimeoutException: the proxy waited for the HSM to come back until the deadline')
    t.equal(whileDown.json.errorName, 'DependencyTimeoutException')
    t.ok(tookMs >= OP_TIMEOUT_MS * 0.8, `it waited for the far side about the HSM deadline (${tookMs} ms, deadline ${OP_TIMEOUT_MS} ms)`)
    // The log line may follow the answer.
    const logLine = /"status":503,"errorName":"DependencyTimeoutException","detail":"(CKR_[A-Z_]+|Timeout) \(backend xksgate-dev\)"/
    await until('the 503 is logged', () => logLine.test(server.output()), 10_000)
    t.pass('its log line names the backend')
    await until('health says UNAVAILABLE', async () => (await health())[0] === 'UNAVAILABLE', 15_000)
    t.pass('GetHealthStatus reports the backend UNAVAILABLE')
    await restartFarSide()
    await until('an encryption succeeds again', async () => (await encrypt()).status === 200, 10_000)
    await until('health says ACTIVE again', async () => (await health())[0] === 'ACTIVE', 15_000)
    t.pass('served again, and health is ACTIVE again')
  })

  await t.test(`the far side restarts under ${LOAD_CLIENTS} closed-loop clients: failed ≤ in flight, served again within ${SERVED_AGAIN_MS} ms`, async t => {
    const load = closedLoop(LOAD_CLIENTS, server, encrypt)
    await new Promise(resolve => setTimeout(resolve, 1500))
    const stoppedAt = Date.now()
    const inFlight = load.inFlight()
    await farSide.stop()
    await restartFarSide()
    const backAt = Date.now()
    await new Promise(resolve => setTimeout(resolve, SERVED_AGAIN_MS + 1500))
    const done = await load.stop()

    const before = done.filter(r => r.end <= stoppedAt)
    const failed = done.filter(r => r.status !== 200)
    const firstServed = done.find(r => r.status === 200 && r.end > backAt)
    const lateFailures = failed.filter(r => r.start >= backAt + SERVED_AGAIN_MS)
    const byStatus = new Map<number, number>()
    for (const r of failed) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1)
    const statuses = [...byStatus].map(([s, n]) => `${n}×${s === 0 ? 'socket error' : s}`).join(', ')
    t.comment(`${done.length} requests; ${before.length} answered before the stop; ${inFlight} in flight at the stop; down ${backAt - stoppedAt} ms; ` +
      `failed: ${failed.length}${statuses === '' ? '' : ` (${statuses})`}; first served ${firstServed === undefined ? 'never' : `${firstServed.end - backAt} ms`} after the far side was back`)
    t.ok(before.length > 0 && before.every(r => r.status === 200), 'every request before the stop was served')
    t.ok(failed.length <= inFlight, `failed requests (${failed.length}) ≤ those in flight when the far side stopped (${inFlight})`)
    t.ok(firstServed !== undefined && firstServed.end - backAt < SERVED_AGAIN_MS, `served again within ${SERVED_AGAIN_MS} ms of the far side being back`)
    t.equal(lateFailures.length, 0, `none failed of those sent ${SERVED_AGAIN_MS} ms or more after it was back`)
  })
}

interface Answered { start: number, end: number, status: number }

/** `clients` loops, each sending the next request when the last is answered; every answer with its times. */
function closedLoop (clients: number, server: DevServer, send: (c: XksClient) => Promise<{ status: number }>): { inFlight: () => number, stop: () => Promise<Answered[]> } {
  const answered: Answered[] = []
  let inFlight = 0
  const stopped = new AbortController()
  const loops = Array.from({ length: clients }, async () => {
    const c = new XksClient(server.connection, 1)
    while (!stopped.signal.aborted) {
      const start = Date.now()
      inFlight++
      const status = await send(c).then(r => r.status, () => 0)
      inFlight--
      answered.push({ start, end: Date.now(), status })
    }
    c.close()
  })
  return {
    inFlight: () => inFlight,
    stop: async () => {
      stopped.abort()
      await Promise.all(loops)
      return answered.sort((a, b) => a.end - b.end)
    },
  }
}
