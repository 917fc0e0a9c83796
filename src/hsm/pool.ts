import path from 'node:path'
import Piscina from 'piscina'
import type { HsmEvent } from './pkcs11/context'
import type { HsmOp, HsmOpOutcome, WorkerConfig, WorkerMessage, WorkerTask } from './pkcs11/executor'
import { InitGate } from './pkcs11/init-gate'
import { LaneTable } from './pkcs11/lanes'
import type { IvSource } from './pkcs11/token-session'
import type {
  DecryptRequest, DecryptResult, EncryptRequest, EncryptResult, HsmBackend, HsmOutcome, HsmStats, KeyAttributes,
  TokenInfo,
} from './types'

export interface Pkcs11PoolOptions {
  /** Path of the PKCS#11 module (.so). */
  modulePath: string
  /** The token is found by label, never by slot id. */
  tokenLabel: string
  /** CKU_USER PIN. Never logged. */
  pin: string
  /** Worker threads; the pool never grows or shrinks. @default 2 */
  threads?: number
  /** Sessions per thread. A thread runs one operation at a time, so >1 only helps HSMs with per-session limits. @default 1 */
  sessionsPerThread?: number
  /** @default 'random' */
  ivSource?: IvSource
  /** Most operations in one task sent to a worker. @default 32 */
  maxBatch?: number
  /** How long start() waits for every worker to log in. @default 30000 */
  startTimeoutMs?: number
  /** Recoveries and session events, for logs and metrics. */
  onEvent?: (e: HsmEvent) => void
}

interface Pending {
  op: HsmOp
  resolve: (outcome: HsmOpOutcome) => void
}

const WORKER_FILE = path.join(__dirname, '../../workers/hsm-worker.js')
const unavailable = (message: string): HsmOpOutcome => ({ ok: false, failure: { kind: 'Unavailable', message } })
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/**
 * The PKCS#11 backend: a fixed pool of worker threads, each with its own logged-in session(s).
 *
 * A SoftHSM encrypt costs about as much as one piscina round trip, so operations are queued and sent in
 * batches: a flush runs on the next setImmediate (letting the current event-loop turn's requests join) or as
 * soon as maxBatch operations wait. At most two batches per thread are in flight; while all are busy, new
 * operations wait here and go out together, so the batch size grows with the load.
 */
export class Pkcs11Pool implements HsmBackend {
  readonly #piscina: Piscina<WorkerTask, HsmOpOutcome[]>
  readonly #lanes: LaneTable
  readonly #gate: InitGate
  readonly #threads: number
  readonly #maxBatch: number
  readonly #maxBatchesInFlight: number
  #queue: Pending[] = []
  #opsInFlight = 0
  #batchesInFlight = 0
  #flushScheduled = false
  #closing: Promise<void> | null = null
  #onIdle: (() => void) | null = null
  /** Tasks sent and operations carried, so the batching can be observed. */
  readonly batching = { tasks: 0, ops: 0 }

  private constructor (piscina: Piscina, lanes: LaneTable, gate: InitGate, threads: number, maxBatch: number) {
    this.#piscina = piscina
    this.#lanes = lanes
    this.#gate = gate
    this.#threads = threads
    this.#maxBatch = maxBatch
    this.#maxBatchesInFlight = threads * 2
  }

  /** Resolves once every worker has opened and logged in its sessions; otherwise rejects with the cause. */
  static async start (options: Pkcs11PoolOptions): Promise<Pkcs11Pool> {
    const threads = options.threads ?? 2
    const sessionsPerThread = options.sessionsPerThread ?? 1
    const maxBatch = options.maxBatch ?? 32
    for (const [name, v] of Object.entries({ threads, sessionsPerThread, maxBatch })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`options.${name} must be a positive integer`)
    }
    // Spare lanes: a replacement worker adopts its dead predecessor's lane, but may start before it is freed.
    const lanes = threads * 2
    const gateBuffer = InitGate.create(lanes)
    const laneBuffer = LaneTable.create(lanes, sessionsPerThread)
    const workerData: WorkerConfig = {
      modulePath: options.modulePath,
      tokenLabel: options.tokenLabel,
      pin: options.pin,
      sessionsPerThread,
      ivSource: options.ivSource ?? 'random',
      gate: gateBuffer,
      lanes: laneBuffer,
    }
    const piscina = new Piscina({
      filename: WORKER_FILE, minThreads: threads, maxThreads: threads, idleTimeout: Infinity, workerData,
    })
    const pool = new Pkcs11Pool(piscina, new LaneTable(laneBuffer), new InitGate(gateBuffer), threads, maxBatch)
    const ready = pool.#watch(threads, options.onEvent)
    const timeoutMs = options.startTimeoutMs ?? 30_000
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`HSM workers did not log in within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([ready, timeout])
      return pool
    } catch (err) {
      await piscina.destroy()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  async encrypt (req: EncryptRequest): Promise<HsmOutcome<EncryptResult>> {
    const outcome = await this.#submit({ kind: 'encrypt', ...req }) as HsmOutcome<EncryptResult>
    if (!outcome.ok) return outcome
    const v = outcome.value
    const value: EncryptResult = { ciphertext: buf(v.ciphertext), tag: buf(v.tag), iv: buf(v.iv) }
    if (v.integrityDigest !== undefined) value.integrityDigest = buf(v.integrityDigest)
    return { ok: true, value }
  }

  async decrypt (req: DecryptRequest): Promise<HsmOutcome<DecryptResult>> {
    const outcome = await this.#submit({ kind: 'decrypt', ...req }) as HsmOutcome<DecryptResult>
    return outcome.ok ? { ok: true, value: { plaintext: buf(outcome.value.plaintext) } } : outcome
  }

  describeKey (keyLabel: string): Promise<HsmOutcome<KeyAttributes>> {
    return this.#submit({ kind: 'describeKey', keyLabel }) as Promise<HsmOutcome<KeyAttributes>>
  }

  tokenInfo (): Promise<HsmOutcome<TokenInfo>> {
    return this.#submit({ kind: 'tokenInfo' }) as Promise<HsmOutcome<TokenInfo>>
  }

  stats (): HsmStats {
    return {
      threads: this.#piscina.threads.length,
      sessionsOpen: this.#lanes.sessionsOpen(),
      queued: this.#queue.length,
      inFlight: this.#opsInFlight,
    }
  }

  /** The worker threads (tests terminate one to check crash handling). */
  get threads (): ReadonlyArray<{ terminate: () => Promise<number>, threadId: number }> {
    return this.#piscina.threads
  }

  /** Stops taking operations (they answer 'Unavailable'), lets queued ones finish, closes sessions, ends threads. */
  close (): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown (): Promise<void> {
    if (this.#queue.length > 0 || this.#opsInFlight > 0) {
      await new Promise<void>(resolve => { this.#onIdle = resolve })
    }
    // piscina cannot address one worker, but tasks sent together while all are idle land one per worker.
    // Repeat if one worker happened to take two.
    for (let round = 0; round < 3 && this.#lanes.sessionsOpen() > 0; round++) {
      await Promise.allSettled(Array.from({ length: this.#threads }, () => this.#piscina.run({ closeSessions: true })))
    }
    await this.#piscina.destroy()
  }

  #submit (op: HsmOp): Promise<HsmOpOutcome> {
    if (this.#closing !== null) return Promise.resolve(unavailable('the HSM pool is closing'))
    return new Promise(resolve => {
      this.#queue.push({ op, resolve })
      if (this.#queue.length >= this.#maxBatch) this.#flush()
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true
        setImmediate(() => {
          this.#flushScheduled = false
          this.#flush()
        })
      }
    })
  }

  #flush (): void {
    while (this.#queue.length > 0 && this.#batchesInFlight < this.#maxBatchesInFlight) {
      // Spread what waits over the free slots instead of filling one batch while threads idle.
      const free = this.#maxBatchesInFlight - this.#batchesInFlight
      const size = Math.min(this.#maxBatch, Math.ceil(this.#queue.length / free))
      this.#dispatch(this.#queue.splice(0, size))
    }
  }

  #dispatch (batch: Pending[]): void {
    this.#batchesInFlight++
    this.#opsInFlight += batch.length
    this.batching.tasks++
    this.batching.ops += batch.length
    this.#piscina.run({ ops: batch.map(p => p.op) }).then(
      outcomes => batch.forEach((p, i) => p.resolve(outcomes[i] ?? unavailable('HSM worker returned no result'))),
      (err: Error) => batch.forEach(p => p.resolve(unavailable(`HSM worker crashed: ${err.message}`)))
    ).finally(() => {
      this.#batchesInFlight--
      this.#opsInFlight -= batch.length
      this.#flush()
      if (this.#onIdle !== null && this.#queue.length === 0 && this.#opsInFlight === 0) this.#onIdle()
    })
  }

  /** Wires worker messages; resolves when `threads` workers are ready, rejects on the first start failure. */
  #watch (threads: number, onEvent?: (e: HsmEvent) => void): Promise<void> {
    let ready = 0
    return new Promise((resolve, reject) => {
      this.#piscina.on('message', (m: WorkerMessage) => {
        if ('hsmEvent' in m) onEvent?.(m.hsmEvent)
        else if ('hsmReady' in m && ++ready === threads) resolve()
        else if ('hsmStartFailed' in m) reject(new Error(m.hsmStartFailed))
      })
      // A dead worker leaves its sessions open and maybe its gate flag raised: free its lane for a successor.
      // Listen to the thread's own 'exit' (it is really gone then), keyed by the threadId read while it is valid
      // (Node reports -1 once a thread has stopped, which is already so when piscina emits 'workerDestroy').
      this.#piscina.on('workerCreate', (created: { id: number }) => {
        const threadId = created.id
        this.#piscina.threads.find(w => w.threadId === threadId)?.once('exit', () => {
          const lane = this.#lanes.orphan(threadId)
          if (lane >= 0) this.#gate.releaseLane(lane)
        })
      })
      // Without a listener, an error from an idle worker would crash the process; tasks see their own errors.
      this.#piscina.on('error', () => {})
    })
  }
}
