import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { AuditSink } from '../../src/audit/sink'
import { Secret } from '../../src/config/secret'
import type { XksgateConfig } from '../../src/config/schema'
import { createLogger } from '../../src/log'
import { Pkcs11Pool } from '../../src/hsm/pool'
import { HsmRouter } from '../../src/hsm/router'
import type { EncryptResult, HsmBackend, HsmOutcome } from '../../src/hsm/types'
import { ProcessMetrics } from '../../src/metrics/process-metrics'
import { createRedisClient, whenReady } from '../../src/redis/connect'
import { MemoryReplayGuard } from '../../src/replay/memory-replay-guard'
import { RedisReplayGuard } from '../../src/replay/redis-replay-guard'
import { Admission } from '../../src/xks/admission'
import { Authenticator } from '../../src/xks/authenticate'
import { base64JsonObject } from '../../src/xks/base64'
import { ciphertextMetadataFor } from '../../src/xks/ciphertext-metadata'
import { buildGcmAad } from '../../src/xks/gcm-aad'
import type { XksHttpRequest } from '../../src/xks/http-types'
import { buildKeyStores } from '../../src/xks/key-stores'
import { createXksHandler } from '../../src/xks/pipeline'
import { logRequest, type RequestLogEntry } from '../../src/xks/request-log'
import { RouteTable } from '../../src/xks/routes'
import { parseJsonBody, validateEncrypt } from '../../src/xks/validate'
import { SyncHsm } from '../baselines/sync-hsm'
import { cpuSeconds } from '../lib/procstat'
import { amzDate, Signer } from '../sign'
import { encryptTemplate, ID_HOLE } from '../loadgen/templates'
import { authorizationStages } from './authorization'
import { perCall, perCallInFlight, perConcurrentCall } from './cpu'

/**
 * The audit record of a request (src/audit/): chaining it on the request path, and writing it out, both counted:
 * the records are recorded, then the time until the writer has put them all on the disk is added, so the CPU of
 * libuv's write threads is in the figure as well.
 */
async function auditRecordCost (entry: RequestLogEntry, log: ReturnType<typeof createLogger>): Promise<[string, number, string]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-bench-audit-'))
  try {
    const sink = AuditSink.open({ file: path.join(dir, 'audit.jsonl'), key: new Secret('k'.repeat(44)), rotateBytes: 1 << 30, maxBufferBytes: 1 << 28 }, log, { version: 'bench' })
    const before = process.cpuUsage()
    for (let i = 0; i < CALLS; i++) sink.record(entry)
    await sink.close()
    const used = process.cpuUsage(before)
    if (sink.stats.dropped > 0) throw new Error('bench audit sink dropped records')
    return ['audit record (chain + write)', (used.user + used.system) / CALLS, 'AuditSink.record (JSON, HMAC-SHA256, buffer) and the batched writes to a file, all threads']
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** A stage's cost in µs of CPU per call, and what it measured. */
export interface StageCost { stage: string, us: number, how: string }

const HOST = 'xks.example.com'
const CALLS = 20_000

/** Distinct signed Encrypt requests shaped exactly like the benchmark's (4 KiB plaintext, 256 B AAD). */
function signedEncrypts (config: XksgateConfig, accessKeyId: string, secretAccessKey: string, n: number): XksHttpRequest[] {
  const store = config.keyStores[0]
  const template = encryptTemplate(store.uriPrefix, 'foo')
  const signer = new Signer({ accessKeyId, secretAccessKey, region: 'us-east-1' })
  const date = amzDate(Date.now())
  return Array.from({ length: n }, (_, i) => {
    const body = Buffer.from(template.body.replace(ID_HOLE, crypto.randomUUID()))
    const hash = crypto.createHash('sha256').update(body).digest('hex')
    const authorization = signer.authorizationPrefix(date) + signer.sign(template.path, HOST, date, hash)
    return {
      method: 'POST', path: template.path, query: '', body, receivedAt: Date.now() + i, remoteAddress: '127.0.0.1',
      headers: { host: HOST, 'x-amz-date': date, authorization, 'content-type': 'application/json', 'content-length': String(body.length) },
    }
  })
}

export interface InProcessInputs {
  config: XksgateConfig
  accessKeyId: string
  secretAccessKey: string
  redisUrl: string
  redisPid: number
}

/** Every stage that runs inside the serving process, each on its own with the real code. */
/** What the router adds in front of one backend: its own JS work per operation, measured against a backend that answers at once. */
async function routerCost (): Promise<number> {
  const answered: Promise<HsmOutcome<EncryptResult>> = Promise.resolve({ ok: true, value: { ciphertext: Buffer.alloc(0), tag: Buffer.alloc(16), iv: Buffer.alloc(12) } })
  const standIn = { encrypt: () => answered, close: async () => {} } as unknown as HsmBackend
  const router = new HsmRouter([{ name: 'one', backend: standIn, opTimeoutMs: 200, probe: () => {} }])
  const req = { keyLabel: 'foo', plaintext: Buffer.alloc(0), gcmAad: Buffer.alloc(0), deadline: Date.now() + 600_000 }
  const calls = 200_000
  const bare = await perCallInFlight(() => standIn.encrypt(req), 4, calls)
  const routed = await perCallInFlight(() => router.encrypt(req), 4, calls)
  await router.close()
  return routed - bare
}

export async function inProcessStages ({ config, accessKeyId, secretAccessKey, redisUrl, redisPid }: InProcessInputs): Promise<StageCost[]> {
  const costs: StageCost[] = []
  const add = (stage: string, us: number, how: string): void => { costs.push({ stage, us, how }) }
  const stores = buildKeyStores(config.keyStores, config.auth.maxSkewSeconds)
  const store = stores[0]
  const requests = signedEncrypts(config, accessKeyId, secretAccessKey, 2000)

  const routes = new RouteTable(stores)
  add('route', perCall(i => routes.match('POST', requests[i % requests.length].path), CALLS), 'RouteTable.match of an Encrypt path')
  add('SigV4 verification', perCall(i => store.sigv4.verify(requests[i % requests.length], Date.now()), CALLS),
    'verify of a signed 6 KB Encrypt (body hash, canonical request, HMAC with the cached signing key)')

  const sigs = Array.from({ length: CALLS * 2 }, () => crypto.randomBytes(32).toString('hex'))
  const memory = new MemoryReplayGuard({ maxEntries: 1_081_800 })
  const expires = Date.now() + 600_000
  add('replay check, in-process', perCall(i => memory.checkAndRecord(store, sigs[i], expires), CALLS),
    'MemoryReplayGuard.checkAndRecord, table sized for KMS\'s quota (1,081,800 entries)')

  const client = createRedisClient({ mode: 'standalone', url: redisUrl, connectTimeoutMs: 2000 })
  if (!await whenReady(client, 5000)) throw new Error('bench Redis not reachable')
  const log = createLogger({ level: 'silent' })
  const redisGuard = new RedisReplayGuard({
    client, logger: log, failurePolicy: 'fail-closed', commandTimeoutMs: 1000, keyPrefix: 'stages:', local: new MemoryReplayGuard({ maxEntries: 1_081_800 }),
  })
  const redisCpu0 = cpuSeconds(redisPid)
  const redisUs = await perConcurrentCall(i => Promise.resolve(redisGuard.checkAndRecord(store, sigs[CALLS + (i % CALLS)], expires, Date.now() + 1240)), 16, 500)
  const redisServerUs = (cpuSeconds(redisPid) - redisCpu0) * 1e6 / (16 * 550)
  add('replay check, Redis (client side)', redisUs, 'RedisReplayGuard.checkAndRecord, 16 concurrent (auto-pipelined SET NX PX)')
  add('replay check, Redis (redis-server)', redisServerUs, 'redis-server CPU per SET NX PX over the same run (/proc)')
  client.disconnect()

  const limits = config.limits
  add('JSON parse and validation', perCall(i => validateEncrypt(parseJsonBody(requests[i % requests.length].body), limits), CALLS),
    'parseJsonBody + validateEncrypt (strict base64 of 4 KiB plaintext and 256 B AAD)')

  const sync = new SyncHsm(config.hsm[0].modulePath, config.hsm[0].tokenLabel, config.hsm[0].pin.reveal())
  const plaintext = crypto.randomBytes(4096)
  const gcmAad = buildGcmAad(crypto.randomBytes(256), ciphertextMetadataFor(1))
  const hsmUs = perCall(() => { void sync.encrypt({ deadline: Infinity, keyLabel: 'foo', plaintext, gcmAad }) }, 5000)
  add('HSM operation (SoftHSM encrypt, 4 KiB)', hsmUs, 'TokenSession.encrypt on this thread, no hand-off')
  await sync.close()

  const pool = await Pkcs11Pool.start({
    modulePath: config.hsm[0].modulePath, tokenLabel: config.hsm[0].tokenLabel, pin: config.hsm[0].pin.reveal(), threads: 1, sessionsPerThread: 1, ivSource: 'random', maxBatch: 32,
  })
  for (const width of [1, 4, 16]) {
    const before = pool.stats()
    const us = await perCallInFlight(() => pool.encrypt({ deadline: Date.now() + 10_000, keyLabel: 'foo', plaintext, gcmAad }), width, 8000)
    const after = pool.stats()
    const batch = (after.batchedOps - before.batchedOps) / Math.max(1, after.batches - before.batches)
    add(`thread hand-off, ${width} in flight`, us - hsmUs,
      `Pkcs11Pool.encrypt, ${width} kept in flight (${batch.toFixed(1)} per batch), both threads, minus the HSM operation`)
  }
  costs.push(...authorizationStages(() => pool.stats()))
  await pool.close()
  add('HSM router, 1 backend', await routerCost(), 'HsmRouter.encrypt over an already-answered stand-in backend, 4 in flight, minus the stand-in alone')

  const encrypted = { ciphertext: crypto.randomBytes(4096), iv: crypto.randomBytes(12), tag: crypto.randomBytes(16) }
  const cm = ciphertextMetadataFor(1)
  add('response encoding', perCall(() => base64JsonObject([['ciphertext', encrypted.ciphertext], ['initializationVector', encrypted.iv],
    ['authenticationTag', encrypted.tag], ['ciphertextMetadata', cm]]), CALLS), 'base64JsonObject of an Encrypt result (4 KiB)')

  const entry: RequestLogEntry = {
    operation: 'encrypt', keyStore: 'dev', uriPrefix: store.uriPrefix, keyId: 'foo', accessKeyId, region: 'us-east-1', status: 200,
    errorName: undefined, detail: undefined, latencyMs: 1.234, remote: '127.0.0.1',
    metadata: { awsPrincipalArn: 'arn:aws:iam::123456789012:user/bench', kmsOperation: 'Encrypt', kmsRequestId: crypto.randomUUID(), kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/x', kmsViaService: 'ebs' },
  }
  const fileLog = createLogger({ level: 'info', destination: (await import('pino')).default.destination({ dest: os.devNull, sync: false }) })
  add('request log line', perCall(() => logRequest(fileLog, entry), CALLS), 'logRequest through the production logger to /dev/null')
  add(...await auditRecordCost(entry, fileLog))
  const metrics = new ProcessMetrics()
  add('request metrics', perCall(() => metrics.observeRequest(entry), CALLS), 'ProcessMetrics.observeRequest (counter + histogram)')

  const full = new Admission({ maxInFlight: 1, requestTimeoutMs: 240, hsmTimeoutMs: 200 })
  full.admit(store, 'encrypt', 240)
  const shedding = createXksHandler({
    stores, authenticator: new Authenticator(300, memory, 240), admission: full, hsm: undefined as never, health: undefined as never,
    limits, hsmTimeoutMs: 200, requestTimeoutMs: 240, log: fileLog, observe: e => metrics.observeRequest(e),
  })
  add('429 in the XKS core (shed)', await perConcurrentCall(i => shedding(requests[i % requests.length]), 1, CALLS),
    'the pipeline answering 429 under overload: route, admission, metrics, no SigV4, HSM or Redis')
  return costs
}
