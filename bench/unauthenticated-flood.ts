/**
 * What a flood of unauthenticated requests costs the disk (issue #17, item 3): the proxy (dev CLI, audit log on)
 * gets N requests signed with a wrong secret for its real access key id, over `--connections` keep-alive TLS
 * connections, and the growth of its log (stdout) and of its audit files is measured, from just before the
 * flood to after its clean stop.
 *
 *   npm run build && node dist/bench/unauthenticated-flood.js [--requests 100000] [--connections 8] [--distinct] [--proxy-cli PATH]
 *
 * The target: 100,000 such requests add less than 1 MB of log and audit data together. The summary writes a few
 * lines a second whatever the rate, so the bytes per second matter too: `--distinct` presents a new 64-character
 * access key id with every request, an attacker's way to fill every summary group every second (the ceiling).
 */
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { freePort } from '../src/dev/free-port'
import { signXksRequest } from '../src/selftest/sign'
import { readConnection } from './lib/connection-info'
import { cleanupOnExit, start, waitForFile } from './lib/procs'
import { proxyCli } from './lib/repo'

const TARGET_BYTES = 1_000_000

const { values } = parseArgs({ options: { requests: { type: 'string', default: '100000' }, connections: { type: 'string', default: '8' }, distinct: { type: 'boolean' }, 'proxy-cli': { type: 'string' } } })
const requests = Number(values.requests)
const connections = Number(values.connections)

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-flood-bench-'))
cleanupOnExit(work)
const dir = path.join(work, 'proxy')
const logFile = `${dir}.log`
const auditDir = path.join(work, 'audit')
fs.mkdirSync(auditDir)
const keyFile = path.join(work, 'audit.key')
fs.writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 })

const auditBytes = (): number => fs.readdirSync(auditDir).filter(n => !n.endsWith('.lock')).reduce((n, f) => n + fs.statSync(path.join(auditDir, f)).size, 0)

async function main (): Promise<void> {
  const port = await freePort()
  const proc = start(process.execPath, [proxyCli(values['proxy-cli']), '--dir', dir, '--port', String(port)], logFile, {
    env: { ...process.env, XKSGATE__audit: JSON.stringify({ file: path.join(auditDir, 'audit.jsonl'), key: { file: keyFile } }), XKSGATE__shutdown__lingerMs: '0' },
  })
  await waitForFile(proc, path.join(dir, 'connection.json'), 120_000)
  const info = readConnection(path.join(dir, 'connection.json'))
  const url = new URL(info.endpoint)
  const { caFile } = JSON.parse(fs.readFileSync(path.join(dir, 'connection.json'), 'utf8')) as { caFile: string }
  const agent = new https.Agent({ keepAlive: true, maxSockets: connections, ca: fs.readFileSync(caFile) })
  const reqPath = `${info.uriPrefix}/health`
  const body = Buffer.from(JSON.stringify({ requestMetadata: { kmsRequestId: 'flood', kmsOperation: 'KmsHealthCheck' } }))
  // Signed once a second (a wrong secret fails the same way whether the signature is fresh or not), or with
  // --distinct once a request, each with its own access key id.
  let signed = { second: -1, headers: {} as Record<string, string> }
  let sent = 0
  const headers = (): Record<string, string> => {
    const now = new Date()
    const second = Math.floor(now.getTime() / 1000)
    if (signed.second !== second || values.distinct === true) {
      const accessKeyId = values.distinct === true ? `AKIDFLOOD${sent++}`.padEnd(64, 'X') : info.accessKeyId
      const sig = signXksRequest({ host: url.host, method: 'POST', path: reqPath, body, region: info.region, accessKeyId, secretAccessKey: 'W'.repeat(44), signedAt: now, contentType: 'application/json', signContentType: false })
      signed = { second, headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...sig } }
    }
    return signed.headers
  }
  const send = async (): Promise<number> => await new Promise((resolve, reject) => {
    const req = https.request({ host: url.hostname, port: url.port, path: reqPath, method: 'POST', headers: headers(), agent }, res => {
      res.resume().on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })

  await send()
  await new Promise(resolve => setTimeout(resolve, 1500))
  const before = { log: fs.statSync(logFile).size, audit: auditBytes() }
  const statuses: Record<number, number> = {}
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: connections }, async () => {
    while (next < requests) {
      next++
      const status = await send()
      statuses[status] = (statuses[status] ?? 0) + 1
    }
  }))
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  await proc.stop(10_000)
  const grown = { log: fs.statSync(logFile).size - before.log, audit: auditBytes() - before.audit }
  const total = grown.log + grown.audit
  console.log(`${requests} requests signed with a wrong secret${values.distinct === true ? ', each with its own access key id' : ''}, ${connections} connections, ${seconds.toFixed(1)} s (${Math.round(requests / seconds)} req/s): statuses ${JSON.stringify(statuses)}`)
  console.log(`log +${grown.log} bytes, audit +${grown.audit} bytes, together ${total} bytes (${(total / requests).toFixed(2)} per request, ${Math.round(total / seconds)} per second); ` +
    (requests >= 100_000 ? `target < ${TARGET_BYTES} for 100,000: ${total < TARGET_BYTES ? 'MET' : 'MISSED'}` : 'the target needs --requests 100000'))
}

main().then(() => process.exit(0), err => { console.error(err); process.exit(1) })
