import { startRedis } from '../../../test/helpers/redis-server'
import { processTree } from '../../lib/procstat'
import { startFaultProxy } from '../proxy'
import { commonViolations, type Scenario, underLoad } from '../scenario'

/**
 * SIGKILL to one of two serving processes. The kernel stops giving it connections the moment it is gone
 * (SO_REUSEPORT), so only the requests it had in flight may be lost, at most one per connection it held;
 * the primary forks a replacement, whose time to ready is measured.
 */
export const servingProcessKill: Scenario = {
  id: 'process-kill',
  fault: 'a serving process SIGKILLed (2 processes)',
  run: async ctx => {
    const redis = await startRedis()
    const proxy = await startFaultProxy(ctx.devDir, 'process-kill', {
      processes: 2, redisUrl: redis.url, env: { XKSGATE__hsm__threads: '1' },
    })
    try {
      const servingProcesses = (): number[] => processTree(proxy.pid).filter(p => p !== proxy.pid)
      const before = servingProcesses()
      if (before.length !== 2) throw new Error(`expected 2 serving processes, found ${before.length}`)
      let replacedMs = -1
      const run = await underLoad(proxy, ctx, async load => {
        const killedAt = load.elapsed()
        process.kill(before[0], 'SIGKILL')
        const readyLines = (): number => (proxy.log().match(/serving process ready/g) ?? []).length
        const ready0 = readyLines()
        while (readyLines() === ready0 && load.elapsed() < ctx.durationMs) await new Promise(resolve => setTimeout(resolve, 20))
        if (readyLines() > ready0) replacedMs = Math.round(load.elapsed() - killedAt)
        return undefined
      })
      const after = servingProcesses()
      const violations = commonViolations(run.counts, run.faultAtMs, ctx.connections)
      if (after.length !== 2 || after.includes(before[0])) violations.push(`not replaced: serving processes now ${after.join(', ')}`)
      if (run.counts.other > 0) violations.push(`${run.counts.other} non-retryable answers`)
      return {
        ...run,
        notes: [replacedMs < 0 ? 'replacement not ready before the load ended' : `replacement ready ${replacedMs} ms after the kill`],
        violations,
      }
    } finally {
      await proxy.proc.stop()
      await redis.stop()
    }
  },
}
