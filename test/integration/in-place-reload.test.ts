/**
 * Hardening issue #17, item 6: the default layout (one serving process) applies a reload in place under signed
 * load, as the cluster reload does by replacing processes (cluster-reload.test.ts): a credential added and one
 * removed, a key rotated with `xksgate keys rotate`, a new certificate; a file that takes a restart or names a key
 * the token lacks is refused or fails with the field named; and no request fails throughout.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { RELOAD_TEST_BUDGET, fetchText, fixedEncrypt, sample, type RuntimeConnection } from '../helpers/cluster'
import { runCli } from '../helpers/cli-run'
import { decryptBody, fromB64 } from '../helpers/conformance'
import { startDevServer } from '../helpers/dev-server'
import { logLines, runMain } from '../helpers/main-process'
import { newCertificate, newCredential, servedFingerprint } from '../helpers/reload'
import { signedLoad, type Credential } from '../helpers/signed-load'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

/** Requests each phase sees before it moves on, so every reload happens under load that is really flowing. */
const SETTLED = 20
const DONE = 'reload done: the serving process applied the new configuration in place'
const REFUSED = 'reload refused: invalid configuration, or one that takes a restart; serving on the configuration it has'
const FAILED = 'reload failed: the configuration cannot be applied; serving on the configuration it has'

t.test('SIGHUP to one serving process applies credentials, a rotated key and a certificate in place under signed load', async t => {
  const server = await startDevServer({ env: { ...RELOAD_TEST_BUDGET, XKSGATE__shutdown__lingerMs: '300' } })
  t.teardown(server.stop)
  const dev = server.connection as RuntimeConnection & { pid: number, configFile: string }
  t.equal(dev.pid, server.process.pid, 'connection.json names the serving process as the one taking SIGHUP')
  const cert = newCertificate(server.dir, dev.caFile, 30)
  const connection = { ...dev, caFile: cert.bundle }
  const A: Credential = { accessKeyId: dev.accessKeyId, secretAccessKey: dev.secretAccessKey }
  const { credential: B, entry: credB } = newCredential(server.dir, 'B')

  const lines = (msg: string): Array<Record<string, any>> => logLines(server.output().split('\n').filter(l => l.startsWith('{')).join('\n')).filter(l => l.msg === msg)
  const hangup = async (expect: string): Promise<void> => {
    const seen = lines(expect).length
    process.kill(dev.pid, 'SIGHUP')
    await until(expect, () => lines(expect).length > seen, 60_000)
  }
  const single = new XksClient(connection, 1)
  t.teardown(() => single.close())
  const encrypt = async (credential: Credential): Promise<{ status: number, json: any }> => await single.send({ ...fixedEncrypt(connection), ...credential })
  const metrics = async (): Promise<string> => (await fetchText(connection.metricsUrl ?? '')).body
  const edit = (change: (config: Record<string, any>) => void): void => {
    const config = JSON.parse(fs.readFileSync(dev.configFile, 'utf8')) as Record<string, any>
    change(config)
    fs.writeFileSync(dev.configFile, JSON.stringify(config))
  }

  const before = await encrypt(A)
  t.equal(fromB64(before.json.ciphertextMetadata).toString('hex'), '58470101', 'Encrypt writes key version 1 before the rotation')
  const loadA = signedLoad(connection, A)
  let loadB: ReturnType<typeof signedLoad> | undefined
  try {
    await until('load with A', () => loadA.counts.ok >= SETTLED, 30_000)

    // 1. Under load: rotate foo on the token and in the file, add B, switch to the new certificate; one SIGHUP.
    const rotated = await runCli(['keys', 'rotate', 'foo', '--config', dev.configFile, '--hsm-timeout-ms', '60000'],
      { ...process.env, SOFTHSM2_CONF: path.join(server.dir, 'softhsm', 'softhsm2.conf') })
    t.equal(rotated.status, 0, `xksgate keys rotate foo: ${rotated.stderr}`)
    edit(config => {
      config.keyStores[0].credentials.push(credB)
      config.server.tls = cert.files
    })
    await hangup(DONE)
    t.match(lines(DONE), [{ generation: 2, certificateReplaced: true }], 'applied in place, certificate included')
    t.equal(lines('xksgate listening').length, 1, 'by the process that started: nothing restarted')
    loadB = signedLoad(connection, B)
    await until('load with B, and A still served', () => loadB !== undefined && loadB.counts.ok >= SETTLED && loadA.counts.ok >= 3 * SETTLED, 30_000)

    const after = await encrypt(A)
    t.equal(after.status, 200)
    t.equal(fromB64(after.json.ciphertextMetadata).toString('hex'), '584702010002', 'Encrypt writes key version 2 after the rotation')
    const decryptPath = `${connection.uriPrefix}/keys/${connection.keys.encryptDecrypt}/decrypt`
    for (const [name, ciphertext] of [['version 1', before.json], ['version 2', after.json]]) {
      const res = await single.send({ path: decryptPath, body: decryptBody(ciphertext), ...B })
      t.equal(res.status, 200, `a ${name} ciphertext decrypts`)
    }
    for (let i = 0; i < 3; i++) t.equal(await servedFingerprint(connection), cert.fingerprint256, 'new connections get the new certificate')
    const days = sample(await metrics(), 'xksgate_tls_certificate_days_to_expire') ?? 0
    t.ok(days > 29 && days <= 30, `xksgate_tls_certificate_days_to_expire follows the new certificate (${days.toFixed(2)})`)
    t.ok(sample(await metrics(), `xksgate_credential_age_days{key_store="dev",access_key_id="${B.accessKeyId}"}`) !== undefined, 'B has a credential age')

    // 2. What one process applies only at a restart is refused by name, whole: B stays, nothing else changes.
    edit(config => { config.hsm.threads = 2; config.keyStores[0].credentials.pop() })
    await hangup(REFUSED)
    t.same(lines(REFUSED).at(-1)?.problems, ['/hsm/threads: changed, which one serving process (cluster.processes 1) applies only at a restart; nothing was applied'])
    t.equal((await encrypt(B)).status, 200, 'B still works: the refused file applied nothing')
    edit(config => { delete config.hsm.threads; config.keyStores[0].credentials.push(credB) })

    // 3. A key the token lacks: the lookup fails the reload with the field named; the old configuration serves.
    edit(config => { config.keyStores[0].keys.ghost = { label: 'no-such-key' } })
    await hangup(FAILED)
    t.match(lines(FAILED).at(-1)?.problems, [/^\/keyStores\/0\/keys\/ghost: no secret key labelled "no-such-key"/], 'the field is named')
    t.equal((await encrypt(A)).status, 200, 'A still works after the failed reload')
    edit(config => { delete config.keyStores[0].keys.ghost })

    // 4. KMS signs with B only now: remove A through xksgate reload, which reports the outcome of the one process.
    const aCounts = await loadA.stop()
    edit(config => { config.keyStores[0].credentials = [credB] })
    const applied = await runMain(['reload', '--connection', path.join(server.dir, 'connection.json')], { timeoutMs: 60_000 })
    t.equal(applied.status, 0, 'xksgate reload: applied', { stderr: applied.stderr })
    t.match(applied.stdout, /^xksgate reload: applied in place: generation 3, by the one serving process in \d+ ms$/m)
    t.equal((await encrypt(A)).status, 401, 'A is refused once removed')
    t.equal((await encrypt(B)).status, 200, 'B works')
    t.equal(sample(await metrics(), `xksgate_credential_age_days{key_store="dev",access_key_id="${A.accessKeyId}"}`), undefined, 'A has no credential age any more')
    const bCounts = await loadB.stop()
    t.comment(`in-place reloads took ${lines(DONE).map(l => l.durationMs as number).join(', ')} ms`)
    t.comment(`signed load through 2 reloads, 1 refusal and 1 failed reload: A ${aCounts.ok} ok / ${aCounts.failed} failed, B ${bCounts.ok} ok / ${bCounts.failed} failed`)
    t.equal(aCounts.failed, 0, `no request signed with A failed: ${aCounts.errors.join(' | ')}`)
    t.equal(bCounts.failed, 0, `no request signed with B failed: ${bCounts.errors.join(' | ')}`)
  } finally {
    await loadA.stop()
    await loadB?.stop()
  }
  t.equal(await server.stop(), 0, 'exit 0')
})
