import path from 'node:path'
import { startFaultProxy } from '../proxy'
import { commonViolations, type Scenario, underLoad } from '../scenario'

const KILLER = path.join(__dirname, '..', 'faults', 'hsm-thread-killer.js')

/**
 * One of the process's two HSM worker threads terminated mid-operation (the preload in faults/). The pool fails
 * only the batches that thread held (500 InternalException, which KMS retries: src/xks/hsm-failures.ts) and
 * piscina starts a replacement thread.
 */
export const hsmThreadKill: Scenario = {
  id: 'hsm-thread-kill',
  fault: 'an HSM worker thread terminated (1 process, 2 threads)',
  run: async ctx => {
    const proxy = await startFaultProxy(ctx.devDir, 'hsm-thread-kill', { nodeArgs: ['-r', KILLER], env: { XKSGATE__hsm__threads: '2' } })
    try {
      const run = await underLoad(proxy, ctx, async () => {
        process.kill(proxy.pid, 'SIGUSR2')
        return undefined
      })
      const violations = commonViolations(run.counts, run.faultAtMs, ctx.connections)
      if (!proxy.log().includes('terminated one HSM worker thread')) violations.push('the fault was not injected')
      if (run.counts.other + run.counts.unanswered > 0) violations.push(`${run.counts.other + run.counts.unanswered} failures that are not retryable`)
      return { ...run, notes: [], violations }
    } finally {
      await proxy.proc.stop()
    }
  },
}
