/**
 * The audit log of a real proxy (SoftHSM, TLS): one record per request with the request log's fields, one chain
 * across rotations and a restart, verified by `xksgate audit verify`, which names a removed record; no plaintext,
 * secret or Authorization header ever reaches it. Its end cut across a restart is flagged, and proven against the
 * heads in the proxy's own log.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { rotatedFiles } from '../../src/audit/head'
import { auditCommand } from '../../src/cli/audit'
import { encryptBody, healthBody } from '../helpers/conformance'
import { startDevServer } from '../helpers/dev-server'
import { XksClient, type XksResponse } from '../helpers/xks-client'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-audit-'))
const keyFile = path.join(dir, 'audit.key')
fs.writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 })
const auditFile = path.join(dir, 'audit', 'audit.jsonl')
fs.mkdirSync(path.dirname(auditFile))
const env = { XKSGATE__audit: JSON.stringify({ file: auditFile, key: { file: keyFile }, rotateBytes: 4096 }), XKSGATE__shutdown__lingerMs: '0' }
const serverDir = path.join(dir, 'dev')
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

const plaintexts: string[] = []
const authorizations: string[] = []
let secret = ''
const logs: Array<Record<string, unknown>> = []

/** One run of the proxy writing `file`: `n` Encrypts and a health check, then a clean stop. */
async function serve (n: number, file = auditFile): Promise<void> {
  const server = await startDevServer({ dir: serverDir, env: { ...env, XKSGATE__audit: JSON.stringify({ file, key: { file: keyFile }, rotateBytes: 4096 }) } })
  const client = new XksClient(server.connection)
  secret = server.connection.secretAccessKey
  const sent: XksResponse[] = []
  try {
    const { uriPrefix, keys } = server.connection
    sent.push(await client.send({ path: `${uriPrefix}/health`, body: healthBody() }))
    for (let i = 0; i < n; i++) {
      const plaintext = randomBytes(24).toString('base64')
      plaintexts.push(plaintext)
      sent.push(await client.send({ path: `${uriPrefix}/keys/${keys.encryptDecrypt}/encrypt`, body: encryptBody({ plaintext }) }))
    }
  } finally {
    client.close()
    t.equal(await server.stop(), 0, 'stopped cleanly')
    logs.push(...server.output().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>))
  }
  t.same(sent.map(r => r.status), sent.map(() => 200))
  authorizations.push(...sent.map(r => r.sentHeaders.Authorization))
}

async function verify (files: string[], extra: string[] = []): Promise<[number, string]> {
  let out = ''
  const status = await auditCommand.run(['verify', '--key-file', keyFile, ...extra, ...files], { stdout: s => { out += s }, stderr: s => { out += s }, env: {} })
  return [status, out]
}

t.test('one chain across rotations and a restart, verified; no secret in it', async t => {
  await serve(12)
  await serve(8)
  const files = [...rotatedFiles(auditFile), auditFile].filter(f => fs.existsSync(f))
  t.ok(files.length >= 3, `${files.length} files (rotated at 4096 bytes)`)
  // The head the proxy logged at its stop, as an operator would take it from the log.
  const closed = logs.filter(l => l.msg === 'audit: chain closed').at(-1)
  const [status, out] = await verify(files, ['--head', `${String(closed?.chain)}:${String(closed?.seq)}:${String(closed?.mac)}`])
  t.equal(status, 0, out)
  t.match(out, /^chain [0-9a-f]{16}: 26 record\(s\), seq 0 to 25, head [0-9a-f]{64}\nverified\n$/, '2 × (start, health, Encrypts, stop)')
  const records = files.flatMap(f => fs.readFileSync(f, 'utf8').trim().split('\n')).map(l => JSON.parse(l) as Record<string, unknown>)
  const encrypts = records.filter(r => r.operation === 'encrypt')
  t.equal(encrypts.length, 20)
  t.same(Object.keys(encrypts[0]).filter(k => !['v', 'chain', 'seq', 'time', 'type', 'prev', 'mac'].includes(k)).sort(),
    ['accessKeyId', 'keyId', 'keyStore', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId', 'latencyMs', 'operation', 'principal', 'region', 'remote', 'status', 'uriPrefix', 'viaService'],
    'the request log fields')
  t.same(records.filter(r => r.type !== 'request').map(r => r.type), ['start', 'stop', 'start', 'stop'])
  const text = files.map(f => fs.readFileSync(f, 'utf8')).join('')
  for (const p of plaintexts) t.notOk(text.includes(p), 'no plaintext')
  t.notOk(text.includes(secret), 'no secret access key')
  for (const a of authorizations) t.notOk(text.includes(a.slice(-64)), 'no signature')
  t.notOk(text.includes(fs.readFileSync(keyFile, 'utf8').trim()), 'not the audit key')

  // A record taken out of a rotated file.
  const victim = files[1]
  const lines = fs.readFileSync(victim, 'utf8').split('\n')
  const removedSeq = (JSON.parse(lines[1]) as { seq: number }).seq
  fs.writeFileSync(victim, [lines[0], ...lines.slice(2)].join('\n'))
  const [tamperedStatus, tampered] = await verify(files)
  t.equal(tamperedStatus, 1)
  t.match(tampered, new RegExp(`FAILED: ${victim.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: record\\(s\\) seq ${removedSeq} were removed before seq ${removedSeq + 1}`))
})

t.test('the end cut across a restart: flagged by the chain alone, proven against the heads in the log (issue #17, item 4)', async t => {
  const file = path.join(dir, 'cut', 'audit.jsonl')
  fs.mkdirSync(path.dirname(file))
  const logStart = logs.length
  await serve(2, file)
  // Everything after the run's health check cut off, its stop record included; then the proxy is started again.
  const kept = fs.readFileSync(file, 'utf8').split('\n').slice(0, 2)
  t.match(JSON.parse(kept[1]), { seq: 1, operation: 'health' })
  fs.writeFileSync(file, kept.join('\n') + '\n')
  await serve(3, file)
  const files = [...rotatedFiles(file), file].filter(f => fs.existsSync(f))
  const restart = files.flatMap(f => fs.readFileSync(f, 'utf8').trim().split('\n')).map(l => JSON.parse(l) as Record<string, unknown>)[2]
  t.match(restart, { seq: 2, type: 'start', previous: { seq: 1, stopped: false } }, 'the start says the chain did not end in a stop')

  const [alone, aloneOut] = await verify(files)
  t.equal(alone, 0, aloneOut)
  t.match(aloneOut, /WARNING: .*:3: the start at seq 2 follows seq 1 \(request\), not a stop/)
  t.match(aloneOut, /verified, with 1 warning\(s\)\n$/)
  t.equal((await verify(files, ['--strict']))[0], 1, '--strict fails on it')

  // The log as an operator ships it: every start and stop head is in it.
  const logFile = path.join(dir, 'proxy.log')
  fs.writeFileSync(logFile, logs.slice(logStart).map(l => JSON.stringify(l) + '\n').join(''))
  t.same(logs.slice(logStart).filter(l => /^audit: chain (opened|closed)$/.test(String(l.msg))).map(l => [l.msg, l.seq]),
    [['audit: chain opened', 0], ['audit: chain closed', 4], ['audit: chain opened', 2], ['audit: chain closed', 7]])
  const [proven, provenOut] = await verify(files, ['--heads-from', logFile])
  t.equal(proven, 1, provenOut)
  t.match(provenOut, /FAILED: .*record seq 4 is not the one the head given names \(the chain was rewritten from there\)/)
})
