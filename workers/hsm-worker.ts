/**
 * The piscina worker entry for the PKCS#11 pool. piscina starts, replaces and drains these threads; the HSM
 * operations themselves travel on a MessagePort of the worker's own, as packed batches (src/hsm/pkcs11/
 * batch-codec.ts), because piscina's task round trip costs about twice a bare port's (bench/README.md).
 *
 * A batch's concurrency says how to run it (src/hsm/pkcs11/executor.ts): one after another on this thread, or
 * spread over sessions through pkcs11js's asynchronous calls.
 *
 * piscina reports the thread ready only once this module has loaded, and the module opens and logs in this
 * thread's sessions and hands its port over while it loads, so a ready thread can serve at once.
 */
import { MessageChannel, parentPort, threadId, workerData, type TransferListItem } from 'node:worker_threads'
import { decodeOps, encodeOutcomes, type HsmOp, type HsmOpOutcome } from '../src/hsm/pkcs11/batch-codec'
import type { HsmEvent } from '../src/hsm/pkcs11/context'
import { CLOSE_SESSIONS, Executor, SESSIONS_CLOSED, type Answered, type WorkerConfig, type WorkerMessage } from '../src/hsm/pkcs11/executor'
import { describe } from '../src/hsm/pkcs11/token-session'

const post = (m: WorkerMessage, transfer: TransferListItem[] = []): void => parentPort?.postMessage(m, transfer)

type Run = (concurrency: number, ops: readonly HsmOp[], answer: (index: number, answered: Answered) => void) => void

/**
 * Serves batches on a fresh port and hands the other end to the pool. Outcomes go back as operations finish:
 * those finished in the same event-loop turn travel together in one message.
 */
function servePort (run: Run, closeSessions: () => void, maxSessions: number): void {
  const { port1, port2 } = new MessageChannel()
  let out: { ids: number[], outcomes: HsmOpOutcome[], hsmMicros: number[] } = { ids: [], outcomes: [], hsmMicros: [] }
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    if (out.ids.length === 0) return
    const answer = encodeOutcomes(out)
    out = { ids: [], outcomes: [], hsmMicros: [] }
    port2.postMessage(answer, [answer])
  }
  port2.on('message', (message: ArrayBuffer | string) => {
    if (message === CLOSE_SESSIONS) {
      closeSessions()
      port2.postMessage(SESSIONS_CLOSED)
      return
    }
    const { concurrency, ids, ops } = decodeOps(message as ArrayBuffer)
    let inRun = true
    run(concurrency, ops, (i, [outcome, micros]) => {
      out.ids.push(ids[i])
      out.outcomes.push(outcome)
      out.hsmMicros.push(micros)
      if (!inRun && !scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })
    inRun = false
    flush()
  })
  post({ hsmReady: threadId, port: port1, maxSessions }, [port1])
}

function start (): void {
  try {
    const executor = Executor.start(workerData as WorkerConfig, threadId, (e: HsmEvent) => post({ hsmEvent: e }))
    servePort((concurrency, ops, answer) => executor.run(concurrency, ops, answer), () => executor.closeSessions(), executor.maxSessions)
  } catch (err) {
    // The pool sees this message and fails start() with it. A replacement worker that cannot start still serves
    // its port, answering every operation Unavailable, so nothing waits on it.
    const message = `HSM worker could not start: ${describe(err)}`
    post({ hsmStartFailed: message, threadId })
    const unavailable: HsmOpOutcome = { ok: false, failure: { kind: 'Unavailable', message } }
    servePort((_, ops, answer) => ops.forEach((_op, i) => answer(i, [unavailable, 0])), () => {}, 1)
  }
}

/** piscina's task handler. The pool sends no piscina tasks: every operation travels on the worker's own port. */
function noTasks (): never {
  throw new Error('the HSM worker takes its operations on its own MessagePort, not as piscina tasks')
}

start()
export default noTasks
