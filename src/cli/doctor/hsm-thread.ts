/**
 * The doctor's HSM checks run in a worker thread with a deadline: PKCS#11 calls are synchronous, and a network
 * HSM that does not answer would otherwise hang the doctor instead of failing its HSM line. The thread loads the
 * configuration itself (secrets do not cross threads). A thread stuck in the library is left behind, unreferenced,
 * and the doctor reports the timeout.
 */
import path from 'node:path'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { loadConfig } from '../../config/load'
import type { Check } from './check'
import { hsmChecks } from './hsm-checks'

interface ThreadInput { file: string, env: NodeJS.ProcessEnv }

export async function hsmChecksWithin (file: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Check[]> {
  const worker = new Worker(path.join(__dirname, 'hsm-thread.js'), { workerData: { file, env } satisfies ThreadInput })
  return await new Promise(resolve => {
    const done = (checks: Check[]): void => {
      clearTimeout(timer)
      worker.removeAllListeners()
      // A late failure of a thread left behind has nobody to tell.
      worker.on('error', () => {})
      resolve(checks)
    }
    const timer = setTimeout(() => {
      worker.unref()
      void worker.terminate()
      done([{ name: 'HSM login', status: 'fail', detail: `the HSM did not answer within ${timeoutMs} ms (is it reachable? the module may be waiting on the network)` }])
    }, timeoutMs)
    // The thread ends by itself once it has answered, after its own C_Finalize; terminating it could cut that short.
    worker.once('message', (checks: Check[]) => done(checks))
    worker.once('error', err => done([{ name: 'HSM login', status: 'fail', detail: err.message }]))
  })
}

if (!isMainThread && parentPort !== null) {
  const { file, env } = workerData as ThreadInput
  parentPort.postMessage(hsmChecks(loadConfig({ file, env })))
}
