/**
 * Requests nobody authenticated cost their sender nothing, so they must cost the disk next to nothing too
 * (issue #17, item 3): a bounded flood of 401s and 404s over real TLS adds a few lines a second to the request
 * log (the first few refusals of a second, then summaries) and the audit log, not a line and a record each, and
 * their counts stay exact. Before the summary,
 * each such request wrote ~350 bytes of log line and ~500 bytes of audit record.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { rotatedFiles } from '../../src/audit/head'
import { auditCommand } from '../../src/cli/audit'
import { REFUSALS_LOGGED_PER_SECOND } from '../../src/xks/refusal-sample'
import { healthBody } from '../helpers/conformance'
import { startDevServer } from '../helpers/dev-server'
import { XksClient, type SendOptions } from '../helpers/xks-client'

const WRONG_SECRET = 2400
const UNKNOWN_ID = 400
const NO_ROUTE = 200
const CONNECTIONS = 8

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-flood-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const keyFile = path.join(dir, 'audit.key')
fs.writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 })
const auditFile = path.join(dir, 'audit.jsonl')

t.test('a flood of unauthenticated requests: summed in log and audit, counts exact, a few bytes each', async t => {
  const server = await startDevServer({ env: { XKSGATE__audit: JSON.stringify({ file: auditFile, key: { file: keyFile } }), XKSGATE__shutdown__lingerMs: '0' } })
  const client = new XksClient(server.connection, CONNECTIONS)
  const { uriPrefix, accessKeyId } = server.connection
  const statuses: Record<number, number> = {}
  const started = Date.now()
  try {
    t.equal((await client.send({ path: `${uriPrefix}/health`, body: healthBody() })).status, 200, 'a signed request is served')
    const kinds: SendOptions[] = [
      ...Array<SendOptions>(WRONG_SECRET).fill({ path: `${uriPrefix}/health`, body: healthBody(), secretAccessKey: 'W'.repeat(44) }),
      ...Array<SendOptions>(UNKNOWN_ID).fill({ path: `${uriPrefix}/health`, body: healthBody(), accessKeyId: 'UNKNOWNKEYID234567ABCD' }),
      ...Array<SendOptions>(NO_ROUTE).fill({ path: '/not/an/xks/path', body: healthBody() }),
    ]
    let next = 0
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (next < kinds.length) {
        const { status } = await client.send(kinds[next++])
        statuses[status] = (statuses[status] ?? 0) + 1
      }
    }))
    // The log's interval closes by itself a second after its first rejection.
    await new Promise(resolve => setTimeout(resolve, 1500))
  } finally {
    client.close()
    t.equal(await server.stop(), 0, 'stopped cleanly')
  }
  const floodSeconds = (Date.now() - started) / 1000
  t.same(statuses, { 401: WRONG_SECRET + UNKNOWN_ID, 404: NO_ROUTE })
  const rejected = WRONG_SECRET + UNKNOWN_ID + NO_ROUTE

  const isRejection = (l: Record<string, unknown>): boolean => String(l.msg).startsWith('xks requests rejected before authentication') ||
    l.unauthenticated === true || (l.msg === 'xks request' && (l.status === 401 || l.status === 404))
  const rejectionLines = server.output().split('\n').filter(l => l.startsWith('{') && isRejection(JSON.parse(l) as Record<string, unknown>))
  const logged = rejectionLines.map(l => JSON.parse(l) as Record<string, unknown>)
  t.equal(logged.filter(l => l.msg === 'xks request').length, 0, 'no request line per rejected request')
  // The first few of each second have a line of their own with the id they claim (src/xks/refusal-sample.ts).
  const individual = logged.filter(l => l.unauthenticated === true)
  t.ok(individual.length <= REFUSALS_LOGGED_PER_SECOND * (Math.ceil(floodSeconds) + 1), `${individual.length} lines of their own: at most ${REFUSALS_LOGGED_PER_SECOND} a second`)
  t.ok(individual.every(l => typeof l.kmsRequestId === 'string'), 'each with the kmsRequestId it claims')
  const loggedCount = (detail: string): number => logged.filter(l => l.detail === detail).reduce((n, l) => n + (l.unauthenticated === true ? 1 : Number(l.rejected)), 0)
  t.equal(loggedCount('Signature does not match'), WRONG_SECRET, 'the log counts the signed 401s (a right id, a wrong signature) exactly')
  t.equal(loggedCount('Unknown access key id'), UNKNOWN_ID, 'and the unknown ids apart')
  t.match(logged.find(l => l.detail === 'Signature does not match' && l.rejected !== undefined), { accessKeyId, status: 401, errorName: 'AuthenticationFailedException', remote: String, intervalMs: 1000 })

  const files = [...rotatedFiles(auditFile), auditFile]
  let out = ''
  t.equal(await auditCommand.run(['verify', '--key-file', keyFile, ...files], { stdout: s => { out += s }, stderr: s => { out += s }, env: {} }), 0, out)
  const auditLines = files.flatMap(f => fs.readFileSync(f, 'utf8').trim().split('\n'))
  const records = auditLines.map(l => JSON.parse(l) as Record<string, unknown>)
  t.equal(records.filter(r => r.type === 'request' && r.status !== 200).length, 0, 'no record per rejected request')
  const summaries = auditLines.filter(l => l.includes('"type":"rejected"') || /"status":40[14],/.test(l))
  t.equal(records.filter(r => r.type === 'rejected').reduce((n, r) => n + Number(r.count), 0), rejected, 'the audit chain counts every one')

  const bytes = [...rejectionLines, ...summaries].reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
  const perRequest = bytes / rejected
  t.comment(`${rejected} rejected in ${floodSeconds.toFixed(1)} s: ${bytes} bytes of log and audit, ${perRequest.toFixed(2)} per request`)
  // One log line per group, one record per interval and at most REFUSALS_LOGGED_PER_SECOND lines of ~550 bytes
  // each second, whatever the rate: the bound holds however slowly a loaded machine sends. A line and a record
  // each (before) was ~850 bytes per request.
  t.ok(bytes < (2000 + REFUSALS_LOGGED_PER_SECOND * 700) * (Math.ceil(floodSeconds) + 2), `${bytes} bytes: a few lines a second`)
  t.ok(perRequest < 100, `${perRequest.toFixed(2)} bytes per rejected request`)
})
