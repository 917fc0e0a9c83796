import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { RELOAD_TEST_BUDGET, TWO_CORE_SIZING, fetchText, fixedEncrypt, sample, type RuntimeConnection } from '../helpers/cluster'
import { startDevServer } from '../helpers/dev-server'
import { logLines, runMain } from '../helpers/main-process'
import { newCertificate, newCredential, servedFingerprint } from '../helpers/reload'
import { signedLoad, type Credential } from '../helpers/signed-load'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

/** Requests each phase sees before it moves on, so every reload happens under load that is really flowing. */
const SETTLED = 20

t.test('SIGHUP reloads a 2-process cluster one process at a time under signed load: rotation, refusal, certificate, crash replacement', async t => {
  const server = await startDevServer({
    args: ['--processes', '2'],
    env: { ...TWO_CORE_SIZING, ...RELOAD_TEST_BUDGET, XKSGATE__replay__allowProcessLocal: 'true', XKSGATE__shutdown__lingerMs: '300', XKSGATE__cluster__restartMinMs: '50' },
  })
  t.teardown(server.stop)
  const dev = server.connection as RuntimeConnection & { pid: number, configFile: string }
  t.equal(dev.pid, server.process.pid, 'connection.json names the primary as the process taking SIGHUP and SIGTERM')
  t.equal(dev.configFile, path.join(server.dir, 'config.json'), 'and its config file')
  const original = JSON.parse(fs.readFileSync(dev.configFile, 'utf8')) as Record<string, any>
  const writeConfig = (credentials: unknown[], tlsFiles = original.server.tls, store: Record<string, unknown> = {}): void =>
    fs.writeFileSync(dev.configFile, JSON.stringify({ ...original, server: { ...original.server, tls: tlsFiles }, keyStores: [{ ...original.keyStores[0], credentials, ...store }] }))

  // A second certificate, valid 30 days, and a CA bundle trusting both, so clients follow the replacement.
  const cert = newCertificate(server.dir, dev.caFile, 30)
  const newTls = cert.files
  const connection = { ...dev, caFile: cert.bundle }

  const A: Credential = { accessKeyId: dev.accessKeyId, secretAccessKey: dev.secretAccessKey }
  const { credential: B, entry: credB } = newCredential(server.dir, 'B')
  const credA = original.keyStores[0].credentials[0]

  const lines = (msg: string): Array<Record<string, any>> => logLines(server.output().split('\n').filter(l => l.startsWith('{')).join('\n')).filter(l => l.msg === msg)
  const DONE = 'reload done: every serving process runs the new configuration'
  const VALID = 'reload: configuration valid; replacing serving processes one at a time'
  const FAILED = 'reload failed: a serving process on the new configuration did not start; the serving processes keep the configuration they have'
  const hangup = async (expect: string, count = 1): Promise<void> => {
    const seen = lines(expect).length
    process.kill(dev.pid, 'SIGHUP')
    await until(expect, () => lines(expect).length >= seen + count, 60_000)
  }
  const single = new XksClient(connection, 1)
  t.teardown(() => single.close())
  const status = async (credential: Credential): Promise<number> => (await single.send({ ...fixedEncrypt(connection), ...credential })).status

  const loadA = signedLoad(connection, A)
  let loadB: ReturnType<typeof signedLoad> | undefined
  try {
    await until('load with A', () => loadA.counts.ok >= SETTLED, 30_000)

    // 1. Add B beside A, and the new certificate. A second SIGHUP during that reload is queued; by then the file is
    // invalid, so the reload that follows is refused with the field named, and nothing is replaced.
    const REFUSED = 'reload refused: invalid configuration; the serving processes keep the configuration they have'
    writeConfig([credA, credB], newTls)
    await hangup(VALID)
    writeConfig([credA, { ...credB, accessKeyId: 'not-an-access-key' }], newTls)
    process.kill(dev.pid, 'SIGHUP')
    await until('the reload done and the queued one refused', () => lines(REFUSED).length === 1, 90_000)
    t.equal(lines('reload requested during a reload: it follows this one').length, 1, 'the SIGHUP during the reload was queued')
    t.match(lines(DONE), [{ replaced: 2, generation: 2 }], 'the first reload replaced both processes')
    t.match(lines(REFUSED)[0].problems, [/^\/keyStores\/0\/credentials\/1\/accessKeyId: /], 'the queued one names the field')
    const ready = lines('serving process ready').length
    loadB = signedLoad(connection, B)
    await until('load with B, and A still served', () => loadB !== undefined && loadB.counts.ok >= SETTLED && loadA.counts.ok >= 3 * SETTLED, 30_000)
    t.equal(lines('serving process ready').length, ready, 'no process was replaced by the refused reload')

    // 2. The certificate was replaced under that load.
    const days = sample((await fetchText(connection.metricsUrl ?? '')).body, 'xksgate_tls_certificate_days_to_expire') ?? 0
    t.ok(days > 29 && days <= 30, `xksgate_tls_certificate_days_to_expire follows the new certificate (${days.toFixed(2)})`)
    for (let i = 0; i < 3; i++) t.equal(await servedFingerprint(connection), cert.fingerprint256, 'new connections get the new certificate')
    const age = sample((await fetchText(connection.metricsUrl ?? '')).body, `xksgate_credential_age_days{key_store="dev",access_key_id="${B.accessKeyId}"}`) ?? 0
    t.ok(age > (Date.now() - Date.parse('2026-01-01')) / 86_400_000 - 1, `credential age from createdAt (${age.toFixed(1)} days)`)

    // 3. xksgate reload refuses the invalid file itself, before any signal.
    const cli = await runMain(['reload', '--connection', path.join(server.dir, 'connection.json')])
    t.equal(cli.status, 2, 'xksgate reload refuses an invalid file itself (exit 2)')
    t.match(cli.stderr, /not sent: invalid configuration:\n {2}\/keyStores\/0\/credentials\/1\/accessKeyId: /)
    t.equal(lines(REFUSED).length, 1, 'the primary was not asked')
    t.equal(await status(B), 200, 'B still works after the refusal')

    // A file that passes every check but does not start (a key the token lacks): the first new process fails, the
    // old ones were never touched.
    writeConfig([credA, credB], newTls, { keys: { ...original.keyStores[0].keys, ghost: { label: 'no-such-key' } } })
    await hangup(FAILED)
    t.match(lines(FAILED)[0].reason, /\/keyStores\/0\/keys\/ghost: no secret key labelled "no-such-key"/, 'the reason names the field')
    t.equal(lines('serving process ready').length, ready, 'no old process was stopped')
    t.equal(await status(A), 200, 'A still works after the failed reload')

    // 4. KMS now signs with B only: remove A. Afterwards A gets 401.
    const aCounts = await loadA.stop()
    writeConfig([credB], newTls)
    // The guard outlasts the command's own 120 s wait, so a slow reload reports itself; at load average 20 on
    // 2 cores this reload ran past 60 s.
    const applied = await runMain(['reload', '--connection', path.join(server.dir, 'connection.json')], { timeoutMs: 150_000 })
    t.equal(applied.status, 0, 'xksgate reload: applied', { stderr: applied.stderr })
    t.match(applied.stdout, /^xksgate reload: applied: generation 3, 2 serving process\(es\) replaced in \d+ ms$/m)
    t.equal(await status(A), 401, 'A is refused once removed')
    t.equal(await status(B), 200, 'B works')
    const bCounts = await loadB.stop()
    t.comment(`reloads took ${lines(DONE).map(l => l.durationMs as number).join(', ')} ms`)
    t.comment(`signed load through 2 reloads, 1 refusal and 1 failed reload: A ${aCounts.ok} ok / ${aCounts.failed} failed, B ${bCounts.ok} ok / ${bCounts.failed} failed`)
    t.equal(aCounts.failed, 0, `no request signed with A failed: ${aCounts.errors.join(' | ')}`)
    t.equal(bCounts.failed, 0, `no request signed with B failed: ${bCounts.errors.join(' | ')}`)

    // 5. A crash replacement starts from the last validated configuration, not from the (now invalid) file.
    fs.writeFileSync(dev.configFile, '{"server": ')
    const victim = lines('serving process ready').at(-1)?.servingProcess.pid as number
    process.kill(victim, 'SIGKILL')
    await until('replacement ready', () => lines('serving process died; replacing it').length === 1 && lines('serving process ready').at(-1)?.servingProcess.pid !== victim, 30_000)
    t.equal(await status(B), 200, 'the replacement serves B')
    for (let i = 0; i < 4; i++) t.equal(await status(A), 401, 'and still refuses A: it runs the validated configuration')

    // 6. SIGTERM during a reload abandons it and stops every process, old and new, with a drain: exit 0.
    writeConfig([credB], newTls)
    await hangup(VALID)
    const servingPids = lines('serving process ready').map(l => l.servingProcess.pid as number)
    t.equal(await server.stop(), 0, 'exit 0')
    t.ok(servingPids.every(pid => !alive(pid)), 'no serving process is left')
  } finally {
    await loadA.stop()
    await loadB?.stop()
  }
})

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}
