/**
 * The piscina worker entry for the PKCS#11 pool. piscina starts, replaces and drains these threads; the HSM
 * operations themselves travel on a MessagePort of the worker's own, as packed batches (src/hsm/pkcs11/
 * batch-codec.ts), because piscina's task round trip costs about twice a bare port's (bench/README.md).
 *
 * piscina reports the thread ready only once this module has loaded, and the module opens and logs in this
 * thread's sessions and hands its port over while it loads, so a ready thread can serve at once.
 */
import { MessageChannel, parentPort, threadId, workerData, type TransferListItem } from 'node:worker_threads'
import { decodeOps, encodeOutcomes, type HsmOpOutcome } from '../src/hsm/pkcs11/batch-codec'
import type { HsmEvent } from '../src/hsm/pkcs11/context'
import { CLOSE_SESSIONS, Executor, SESSIONS_CLOSED, type WorkerConfig, type WorkerMessage } from '../src/hsm/pkcs11/executor'
import { describe } from '../src/hsm/pkcs11/token-session'

const post = (m: WorkerMessage, transfer: TransferListItem[] = []): void => parentPort?.postMessage(m, transfer)

/** Serves batches on a fresh port and hands the other end to the pool. */
function servePort (run: (batch: ArrayBuffer) => HsmOpOutcome[], closeSessions: () => void): void {
  const { port1, port2 } = new MessageChannel()
  port2.on('message', (message: ArrayBuffer | string) => {
    if (message === CLOSE_SESSIONS) {
      closeSessions()
      port2.postMessage(SESSIONS_CLOSED)
      return
    }
    const answer = encodeOutcomes(run(message as ArrayBuffer))
    port2.postMessage(answer, [answer])
  })
  post({ hsmReady: threadId, port: port1 }, [port1])
}

function start (): void {
  try {
    const executor = Executor.start(workerData as WorkerConfig, threadId, (e: HsmEvent) => post({ hsmEvent: e }))
    servePort(batch => executor.run(decodeOps(batch)), () => executor.closeSessions())
  } catch (err) {
    // The pool sees this message and fails start() with it. A replacement worker that cannot start still serves
    // its port, answering every operation Unavailable, so nothing waits on it.
    const message = `HSM worker could not start: ${describe(err)}`
    post({ hsmStartFailed: message, threadId })
    const unavailable: HsmOpOutcome = { ok: false, failure: { kind: 'Unavailable', message } }
    servePort(batch => decodeOps(batch).map(() => unavailable), () => {})
  }
}

/** piscina's task handler. The pool sends no piscina tasks: every operation travels on the worker's own port. */
function noTasks (): never {
  throw new Error('the HSM worker takes its operations on its own MessagePort, not as piscina tasks')
}

start()
export default noTasks
