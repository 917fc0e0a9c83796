import path from 'node:path'
import type { MessagePort } from 'node:worker_threads'
import Piscina from 'piscina'
import { decodeOutcomes, encodeOps, type HsmOp, type HsmOpOutcome } from './pkcs11/batch-codec'
import type { HsmEvent } from './pkcs11/context'
import { CLOSE_SESSIONS, SESSIONS_CLOSED, type WorkerConfig, type WorkerMessage } from './pkcs11/executor'
import type { InitGate } from './pkcs11/init-gate'
import { LaneTable } from './pkcs11/lanes'
import { ConcurrencyLimit } from './concurrency-limit'
import { PendingTable } from './pending-table'
import { settlesWithin } from '../settles-within'
import { markNativeWork } from './native-work'
import { leaseGateLanes, type GateLease } from './pkcs11/module-gates'
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
  /** Worker threads; the pool never grows or shrinks. */
  threads: number
  /** Sessions each thread opens at start; more open as the concurrency grows. */
  sessionsPerThread: number
  /**
   * The most sessions, over all threads, and so the most operations in the HSM at once. The concurrency limit
   * (concurrency-limit.ts) moves between 1 and this, and the HSM's own CK_TOKEN_INFO.ulMaxSessionCount.
   * @default threads × sessionsPerThread
   */
  maxSessions?: number
  ivSource: IvSource
  /** Most operations in one batch sent to a worker. */
  maxBatch: number
  /** How long start() waits for every worker to log in. @default 30000 */
  startTimeoutMs?: number
  /** After a session would not open, how long a thread waits before it opens more (executor.ts). @default 10000 */
  sessionRetryMs?: number
  /** Recoveries and session events, for logs and metrics. */
  onEvent?: (e: HsmEvent) => void
  /** Each operation's time in the HSM (ms), for the latency histogram. */
  onHsmTime?: (ms: number) => void
  now?: () => number
}

interface Pending {
  op: HsmOp
  resolve: (outcome: HsmOpOutcome) => void
  /** Answered already (by the worker, or as timed out): a later answer is dropped. */
  settled: boolean
}

/** A worker thread's port and the operations it has not answered yet, by id. */
interface WorkerLink {
  threadId: number
  port: MessagePort
  pending: PendingTable<Pending>
  /** The worker could not open its sessions: it answers Unavailable, so it is used only when no other is ready. */
  failed: boolean
  onSessionsClosed?: () => void
}

const WORKER_FILE = path.join(__dirname, '../../workers/hsm-worker.js')
/** How often deadlines are checked while operations are pending: the lateness of a timeout answer. */
const DEADLINE_CHECK_MS = 5
/** How long a close waits for its threads to end, and for their sessions to close, before it leaves them. */
const THREAD_END_WAIT_MS = 2000
/**
 * How long a close waits for queued and in-flight operations. They answer by their deadlines (within the
 * request's budget, well under this); a thread still busy after it is stuck in the module, and is left.
 */
const IDLE_WAIT_MS = 5000
/** While others are in flight, an operation is sent to the HSM only with this many times its recent time left. */
const LATE_SEND_TOLERANCE = 2
const unavailable = (message: string): HsmOpOutcome => ({ ok: false, failure: { kind: 'Unavailable', message } })
const timedOut = (op: HsmOp): HsmOpOutcome =>
  ({ ok: false, failure: { kind: 'Timeout', message: `no answer from the HSM by the deadline (${op.kind})` } })
const overloaded = (op: HsmOp): HsmOpOutcome =>
  ({ ok: false, failure: { kind: 'Overloaded', message: `no HSM worker free before the deadline (${op.kind})` } })

function settle (p: Pending, outcome: HsmOpOutcome): void {
  if (p.settled) return
  p.settled = true
  p.resolve(outcome)
}

/**
 * The PKCS#11 backend: a fixed pool of worker threads, each with its own logged-in session(s).
 *
 * piscina starts the threads, replaces one that dies and ends them all on close. Operations do not go through
 * piscina's task queue: each worker hands the pool a MessagePort at start, and operations travel on it packed
 * into one transferred ArrayBuffer per batch (pkcs11/batch-codec.ts). A batch goes out on the next setImmediate
 * (letting the current event-loop turn's requests join) or as soon as maxBatch operations wait.
 *
 * How many operations are in the HSM at once follows the HSM, not the thread count: a concurrency limit
 * (concurrency-limit.ts) learns it from each operation's time in the HSM. At 1 (an HSM that is CPU work on this
 * host) each worker holds one batch, run one operation after another on one session, so while all are busy new
 * operations wait here and go out together, and the batch size grows with the load (and the cost per operation
 * falls with it). Above 1 the limit is shared among the workers, and each spreads what it holds over that many
 * sessions through the asynchronous PKCS#11 calls, answering each operation as it finishes.
 *
 * Every operation carries its deadline. One still queued, while others are in flight, when it has less than twice
 * the HSM's recent time per operation left (so at its deadline where operations are CPU work) is answered
 * Overloaded and never sent;
 * one a worker takes after it is answered Overloaded by the worker without running; one in flight at its deadline
 * is answered Timeout here and its late result dropped (every XKS operation is stateless).
 */
export class Pkcs11Pool implements HsmBackend {
  readonly #piscina: Piscina
  readonly #lanes: LaneTable
  readonly #gate: InitGate
  readonly #gateLease: GateLease
  readonly #maxBatch: number
  readonly #links = new Map<number, WorkerLink>()
  readonly #tokenLabel: string
  readonly #limiter: ConcurrencyLimit
  readonly #onHsmTime: (ms: number) => void
  #queue: Pending[] = []
  #opsInFlight = 0
  #flushScheduled = false
  #deadlineTimer: NodeJS.Timeout | undefined
  #closing: Promise<void> | null = null
  #onIdle: (() => void) | null = null
  #batches = 0
  #batchedOps = 0

  private constructor (piscina: Piscina, lanes: LaneTable, gateLease: GateLease, maxBatch: number, tokenLabel: string,
    limiter: ConcurrencyLimit, onHsmTime: (ms: number) => void) {
    this.#piscina = piscina
    this.#limiter = limiter
    this.#onHsmTime = onHsmTime
    this.#tokenLabel = tokenLabel
    this.#lanes = lanes
    this.#gateLease = gateLease
    this.#gate = gateLease.gate
    this.#maxBatch = maxBatch
  }

  /** Resolves once every worker has opened and logged in its sessions; otherwise rejects with the cause. */
  static async start (options: Pkcs11PoolOptions): Promise<Pkcs11Pool> {
    const { threads, sessionsPerThread, maxBatch } = options
    const maxSessions = options.maxSessions ?? threads * sessionsPerThread
    for (const [name, v] of Object.entries({ threads, sessionsPerThread, maxBatch, maxSessions })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`options.${name} must be a positive integer`)
    }
    const perThread = Math.max(sessionsPerThread, Math.ceil(maxSessions / threads))
    // Spare lanes: a replacement worker adopts its dead predecessor's lane, but may start before it is freed.
    const lanes = threads * 2
    // The gate belongs to the module, not to this pool: another pool on the same library must not re-initialise
    // it under this one's threads (module-gates.ts).
    const gateLease = leaseGateLanes(options.modulePath, lanes)
    const laneBuffer = LaneTable.create(lanes, perThread)
    const workerData: WorkerConfig = {
      modulePath: options.modulePath,
      tokenLabel: options.tokenLabel,
      pin: options.pin,
      sessionsPerThread,
      maxSessions: perThread,
      ivSource: options.ivSource,
      gate: gateLease.buffer,
      gateLaneBase: gateLease.base,
      lanes: laneBuffer,
      sessionRetryMs: options.sessionRetryMs,
    }
    const piscina = new Piscina({
      filename: WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
      // Workers must run their event loop to hear their own port; with atomics an idle worker blocks in
      // Atomics.wait and would never see an operation.
      atomics: 'disabled',
      workerData,
    })
    const limiter = new ConcurrencyLimit(Math.max(maxSessions, threads * sessionsPerThread), options.now)
    const pool = new Pkcs11Pool(piscina, new LaneTable(laneBuffer), gateLease, maxBatch, options.tokenLabel, limiter,
      options.onHsmTime ?? (() => {}))
    const ready = pool.#watch(threads, options.onEvent)
    const timeoutMs = options.startTimeoutMs ?? 30_000
    // Until every thread has logged in, one may be inside a module call that never returns (native-work.ts).
    const starting = markNativeWork(`HSM token ${options.tokenLabel}: worker threads starting`)
    try {
      if (!await settlesWithin(ready, timeoutMs)) throw new Error(`HSM workers did not log in within ${timeoutMs} ms (the PKCS#11 module did not answer)`)
      await ready // settled: rethrows a login that failed
      starting()
      return pool
    } catch (err) {
      // A thread stuck in the module never ends: give up on it after a while, and leave the span open.
      if (await settlesWithin(piscina.destroy(), THREAD_END_WAIT_MS)) {
        starting()
        gateLease.release()
      }
      throw err
    }
  }

  encrypt (req: EncryptRequest): Promise<HsmOutcome<EncryptResult>> {
    return this.#submit({ kind: 'encrypt', ...req }) as Promise<HsmOutcome<EncryptResult>>
  }

  decrypt (req: DecryptRequest): Promise<HsmOutcome<DecryptResult>> {
    return this.#submit({ kind: 'decrypt', ...req }) as Promise<HsmOutcome<DecryptResult>>
  }

  describeKey (keyLabel: string, deadline: number): Promise<HsmOutcome<KeyAttributes>> {
    return this.#submit({ kind: 'describeKey', keyLabel, deadline }) as Promise<HsmOutcome<KeyAttributes>>
  }

  tokenInfo (deadline: number): Promise<HsmOutcome<TokenInfo>> {
    return this.#submit({ kind: 'tokenInfo', deadline }) as Promise<HsmOutcome<TokenInfo>>
  }

  stats (): HsmStats {
    return {
      threads: this.#links.size,
      sessionsOpen: this.#lanes.sessionsOpen(),
      queued: this.#queue.length,
      inFlight: this.#opsInFlight,
      batches: this.#batches,
      batchedOps: this.#batchedOps,
      concurrencyLimit: this.#limiter.limit,
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
    // Every wait below is bounded: a thread stuck in the module must not hold the process's stop for ever.
    const closing = markNativeWork(`HSM token ${this.#tokenLabel}: worker threads closing`)
    if (this.#queue.length > 0 || this.#opsInFlight > 0) {
      // Queued and in-flight operations all settle by their deadlines; an operation's thread may not.
      await settlesWithin(new Promise<void>(resolve => { this.#onIdle = resolve }), IDLE_WAIT_MS)
    }
    // Close only each thread's own sessions, never C_Finalize: other threads may still be inside the library.
    await Promise.all([...this.#links.values()].map(link => new Promise<void>(resolve => {
      const timer = setTimeout(resolve, THREAD_END_WAIT_MS)
      link.onSessionsClosed = () => { clearTimeout(timer); resolve() }
      link.port.postMessage(CLOSE_SESSIONS)
    })))
    clearInterval(this.#deadlineTimer)
    if (await settlesWithin(this.#piscina.destroy(), THREAD_END_WAIT_MS)) {
      closing()
      this.#gateLease.release()
    }
  }

  #submit (op: HsmOp): Promise<HsmOpOutcome> {
    if (this.#closing !== null) return Promise.resolve(unavailable('the HSM pool is closing'))
    if (Date.now() > op.deadline) return Promise.resolve(overloaded(op))
    this.#limiter.arrived()
    return new Promise(resolve => {
      this.#queue.push({ op, resolve, settled: false })
      this.#deadlineTimer ??= setInterval(() => this.#expire(), DEADLINE_CHECK_MS)
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
    const { concurrent, limit } = this.#limiter.view()
    const minLeftMs = this.#minTimeLeftMs()
    const share = concurrent ? Math.ceil(limit / Math.max(1, this.#links.size)) : 1
    while (this.#queue.length > 0) {
      const link = this.#roomiest(share)
      if (link === undefined) break
      // Batches: spread what waits over the idle workers instead of filling one batch while threads idle.
      // Concurrent: give a worker what its share of the limit has room for.
      const size = concurrent
        ? Math.min(this.#maxBatch, share - link.pending.size)
        : Math.min(this.#maxBatch, Math.ceil(this.#queue.length / this.#idleLinks()))
      const batch = this.#queue.splice(0, size).filter(p => !p.settled && !this.#tooLate(p, minLeftMs))
      if (batch.length > 0) this.#send(link, batch, share)
    }
    this.#limiter.inUse(this.#opsInFlight, this.#queue.length > 0)
  }

  /**
   * An operation that waited here until less than `minLeftMs` is left would likely only time out in the HSM (a
   * 503, and a slot of its capacity spent for nothing): it is answered Overloaded (429) now instead, never sent.
   */
  #tooLate (p: Pending, minLeftMs: number): boolean {
    if (p.op.deadline - Date.now() >= minLeftMs) return false
    settle(p, overloaded(p.op))
    return true
  }

  /**
   * Twice the HSM's recent time per operation (the last window's mean, as the HSM and this host answer now); up
   * to that an operation's time is the ordinary spread (the concurrency limit's TOLERANCE). None while nothing is
   * in flight: an operation always goes out then, so a mean inflated by a stall or a hang is measured anew and
   * cannot keep every operation from the HSM.
   */
  #minTimeLeftMs (): number {
    return this.#opsInFlight === 0 ? 0 : this.#limiter.view().meanMs * LATE_SEND_TOLERANCE
  }

  /**
   * The ready worker with the most room under its share of the limit (workers that failed to start last). At a
   * share of 1 (batches) a worker has room only while it holds nothing.
   */
  #roomiest (share: number): WorkerLink | undefined {
    let best: WorkerLink | undefined
    for (const link of this.#links.values()) {
      if (link.pending.size >= share) continue
      if (best === undefined || (best.failed && !link.failed) ||
        (best.failed === link.failed && link.pending.size < best.pending.size)) best = link
    }
    return best
  }

  #idleLinks (): number {
    let idle = 0
    for (const link of this.#links.values()) if (link.pending.size === 0) idle++
    return Math.max(1, idle)
  }

  #send (link: WorkerLink, batch: Pending[], concurrency: number): void {
    const ids = batch.map(p => link.pending.add(p))
    const packed = encodeOps({ concurrency, ids, ops: batch.map(p => p.op) })
    this.#opsInFlight += batch.length
    this.#batches++
    this.#batchedOps += batch.length
    link.port.postMessage(packed, [packed])
  }

  #onAnswer (link: WorkerLink, message: ArrayBuffer | string): void {
    if (message === SESSIONS_CLOSED) {
      link.onSessionsClosed?.()
      return
    }
    const { ids, outcomes, hsmMicros } = decodeOutcomes(message as ArrayBuffer)
    ids.forEach((id, i) => {
      const p = link.pending.take(id)
      if (p === undefined) return
      this.#opsInFlight--
      const outcome = outcomes[i] ?? unavailable('HSM worker returned no result')
      // Only what the HSM answered tells its latency: not an operation that never reached it (deadline passed
      // first), nor one that failed (a device error's repairs take far longer than an operation).
      if (outcome.ok && hsmMicros[i] > 0) {
        // The limit and the choice of batches are about the cryptographic operations, the ones spread over
        // sessions: a token-info or key lookup (the health check's, GetKeyMetadata's) may be answered from the
        // module's cache, and one fast call in a window would send a network HSM back to batches.
        if (p.op.kind === 'encrypt' || p.op.kind === 'decrypt') this.#limiter.sample(hsmMicros[i] / 1000)
        this.#onHsmTime(hsmMicros[i] / 1000)
      }
      if (!outcome.ok && outcome.failure.ckr === 'CKR_FUNCTION_FAILED') this.#limiter.drop()
      settle(p, outcome)
    })
    this.#flush()
    this.#whenIdle()
  }

  /** With nothing queued or in flight, the deadline check stops and a waiting close() goes on. */
  #whenIdle (): void {
    if (this.#queue.length > 0 || this.#opsInFlight > 0) return
    clearInterval(this.#deadlineTimer)
    this.#deadlineTimer = undefined
    this.#onIdle?.()
  }

  /** Answers every operation past its deadline (Timeout once a worker has it), and queued ones too late to send (Overloaded). */
  #expire (): void {
    const now = Date.now()
    const minLeftMs = this.#minTimeLeftMs()
    for (const p of this.#queue) this.#tooLate(p, minLeftMs)
    this.#queue = this.#queue.filter(p => !p.settled)
    const late: Pending[] = []
    for (const link of this.#links.values()) {
      link.pending.forEach(p => { if (!p.settled && now > p.op.deadline) late.push(p) })
    }
    // Timers run before I/O in each event-loop turn: on a saturated or stalled loop a worker's answer may already
    // be waiting behind this timer, so decide once the pending messages have been handled. Only an operation still
    // unanswered then was held by the HSM past its deadline (slower than the limit assumed, or hung) and cuts the
    // limit: one answered in time but read late says nothing of the HSM, and counting it would shrink the limit
    // while this host's CPU is the bottleneck, down to one operation at a time.
    if (late.length > 0) {
      setImmediate(() => {
        const unanswered = late.filter(p => !p.settled)
        if (unanswered.length > 0) this.#limiter.drop()
        for (const p of unanswered) settle(p, timedOut(p.op))
      })
    }
    this.#whenIdle()
  }

  /** A dead worker's batches fail (retryable), its lane is freed for its successor, and the rest go elsewhere. */
  #onWorkerGone (threadId: number): void {
    const link = this.#links.get(threadId)
    this.#links.delete(threadId)
    const held = link?.pending.clear() ?? []
    for (const p of held) settle(p, unavailable('HSM worker crashed'))
    this.#opsInFlight -= held.length
    this.#flush()
    this.#whenIdle()
    const lane = this.#lanes.orphan(threadId)
    if (lane >= 0) this.#gate.releaseLane(lane)
  }

  /** Wires worker messages; resolves when `threads` workers are ready, rejects on the first start failure. */
  #watch (threads: number, onEvent?: (e: HsmEvent) => void): Promise<void> {
    const failedToStart = new Set<number>()
    return new Promise((resolve, reject) => {
      this.#piscina.on('message', (m: WorkerMessage) => {
        if ('hsmEvent' in m) onEvent?.(m.hsmEvent)
        else if ('hsmStartFailed' in m) {
          failedToStart.add(m.threadId)
          reject(new Error(m.hsmStartFailed))
        } else if ('hsmReady' in m) {
          const link: WorkerLink = { threadId: m.hsmReady, port: m.port, pending: new PendingTable(), failed: failedToStart.has(m.hsmReady) }
          m.port.on('message', (answer: ArrayBuffer | string) => this.#onAnswer(link, answer))
          this.#links.set(link.threadId, link)
          // The token's own session bound, which the worker read, may be below maxSessions.
          if (!link.failed) this.#limiter.lowerMax(m.maxSessions * threads)
          if (this.#links.size === threads) resolve()
          this.#flush()
        }
      })
      // Listen to the thread's own 'exit' (it is really gone then), keyed by the threadId read while it is valid
      // (Node reports -1 once a thread has stopped, which is already so when piscina emits 'workerDestroy').
      this.#piscina.on('workerCreate', (created: { id: number }) => {
        const threadId = created.id
        this.#piscina.threads.find(w => w.threadId === threadId)?.once('exit', () => this.#onWorkerGone(threadId))
      })
      // Without a listener, an error from an idle worker would crash the process; its batches fail on 'exit'.
      this.#piscina.on('error', () => {})
    })
  }
}
