/**
 * A real remote PKCS#11 hop between the proxy and SoftHSM: p11-kit's server holds the token, the proxy loads
 * p11-kit's client module (test/helpers/p11-kit.ts). The conformance suite runs through the same hop with
 * XKSGATE_TEST_HSM=p11-kit; this file checks what the proxy does when the far side goes away and comes back.
 *
 * p11-kit 0.24 (Debian 12) does not carry the AES-GCM parameters in its RPC: there the proxy must refuse to start,
 * naming the module. From 0.25 (Debian 13: `deploy/compat/debian13-node.sh dist/test/integration/hsm-remote-hop.test.js`)
 * the hop serves, and the restart cases run.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { SAMPLE, encryptBody, pretty } from '../helpers/conformance'
import { type DevServer, startDevServer } from '../helpers/dev-server'
import { p11KitCarriesGcm, p11KitClientModule, remoteDevHsm, startP11KitServer } from '../helpers/p11-kit'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

t.test('the proxy behind p11-kit server and client', async t => {
  t.ok(p11KitClientModule(), 'p11-kit-modules is installed')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-hop-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const remote = await remoteDevHsm(dir)
  let farSide = remote.server
  t.teardown(async () => await farSide.stop())

  if (!await p11KitCarriesGcm(farSide)) {
    await t.test('p11-kit without AES-GCM in its RPC (0.24): the proxy refuses to start, naming the module', async t => {
      const refused = await startDevServer({ dir, env: remote.env }).then(s => s, (err: Error) => err)
      t.type(refused, Error, 'the start failed')
      t.match((refused as Error).message, /exited with 2:[^]*\/hsm\/modulePath: the HSM behind \S*p11-kit-client\.so \(backend "xksgate-dev"\) refuses AES-GCM \(C_EncryptInit: CKR_MECHANISM_INVALID\)/)
    })
    await t.test('the far side restarts', { skip: 'needs p11-kit 0.25 or later, which carries AES-GCM (deploy/compat/debian13-node.sh runs it)' }, () => {})
    return
  }

  const server: DevServer = await startDevServer({ dir, env: remote.env })
  t.teardown(async () => await server.stop())
  const client = new XksClient(server.connection)
  t.teardown(() => client.close())
  const encrypt = async (): Promise<number> => (await client.send({
    path: `${server.connection.uriPrefix}/keys/${server.connection.keys.encryptDecrypt}/encrypt`,
    body: pretty(encryptBody({ plaintext: SAMPLE.plaintext })),
  })).status

  await t.test('serves through the hop', async t => {
    t.equal(await encrypt(), 200)
  })

  await t.test('the far side restarts: requests fail while it is gone; recovery after it is back', async t => {
    await farSide.stop()
    const whileGone = await encrypt()
    t.ok(whileGone >= 500, `a server error while the far side is gone (${whileGone}), which KMS retries`)
    farSide = await startP11KitServer({ softhsmConf: path.join(dir, 'softhsm', 'softhsm2.conf'), tokenLabel: 'xksgate-dev', socketPath: farSide.socketPath })
    const recovered = await until('an encryption succeeds through the restarted far side', async () => await encrypt() === 200, 30_000)
      .then(() => true, () => false)
    const answers = [...new Set(server.output().match(/CKR_[A-Z_]+/g) ?? [])]
    t.comment(`PKCS#11 answers the proxy logged: ${answers.join(', ') || 'none'}`)
    // Measured with the pool before issue 18's change (Debian 13, p11-kit 0.25.5): while the far side is gone the
    // client answers CKR_DEVICE_ERROR and the pool reinitialises the library; the new connection numbers the slot
    // anew, the pool's next call on the old slot id gets CKR_SLOT_ID_INVALID, and every request answers 500 until
    // the proxy restarts. Issue 18's session reopen is to make this a recovery; then this assertion loses its todo.
    t.ok(recovered, 'the proxy recovers by itself within 30 s', { todo: 'issue 18: reconnect after the far side restarts' })
  })
})
