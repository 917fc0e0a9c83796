/**
 * The piscina worker entry for the PKCS#11 pool. piscina requires this module and awaits its `default` export
 * before it serves the first task (and, for replacement workers, before it reports the thread ready), so the
 * export is a Promise that resolves to the handler only once this thread's sessions are open and logged in.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads'
import type { HsmEvent } from '../src/hsm/pkcs11/context'
import { Executor, type HsmOpOutcome, type WorkerConfig, type WorkerMessage, type WorkerTask } from '../src/hsm/pkcs11/executor'
import { describe } from '../src/hsm/pkcs11/token-session'

const post = (m: WorkerMessage): void => parentPort?.postMessage(m)

function serve (executor: Executor | null, startError: string) {
  return (task: WorkerTask): HsmOpOutcome[] => {
    if ('closeSessions' in task) {
      // Close only our sessions, never C_Finalize: other threads may be inside the library.
      executor?.closeSessions()
      return []
    }
    if (executor === null) {
      return task.ops.map(() => ({ ok: false, failure: { kind: 'Unavailable', message: startError } }))
    }
    return executor.run(task.ops)
  }
}

async function start (): Promise<(task: WorkerTask) => HsmOpOutcome[]> {
  try {
    const executor = Executor.start(workerData as WorkerConfig, threadId, (e: HsmEvent) => post({ hsmEvent: e }))
    post({ hsmReady: threadId })
    return serve(executor, '')
  } catch (err) {
    // Still resolve to a handler: a rejected export would make piscina fall back to an ESM import and hide the
    // cause. The pool sees this message and fails start() with it; later tasks answer 'Unavailable'.
    const message = `HSM worker could not start: ${describe(err)}`
    post({ hsmStartFailed: message, threadId })
    return serve(null, message)
  }
}

export default start()
