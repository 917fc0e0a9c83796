import { startRedis } from '../../../test/helpers/redis-server'
import { readCounters } from '../../lib/connection-info'
import { startFaultProxy } from '../proxy'
import { commonViolations, type Scenario, underLoad } from '../scenario'

/** How long Redis stays down before a fresh, empty one is started on the same port. */
const OUTAGE_MS = 2000
/**
 * The replay check's Redis budget for this scenario. At the default 50 ms, fail-closed also answers 503 whenever
 * a busy 2-core machine (the load generator runs on it too) delays one Redis round trip past 50 ms, which is the
 * documented behaviour but not the fault under test; 150 ms keeps those apart from the outage.
 */
export const COMMAND_TIMEOUT_MS = '150'

/**
 * Redis SIGKILLed, down for two seconds, restarted empty. The documented behaviour (README, replay.failurePolicy):
 * fail-open-local serves every request from the in-process cache; fail-closed answers 503
 * DependencyTimeoutException (retryable) while Redis is unreachable and serves again once it is back, without a
 * restart. Nothing else may fail in either.
 */
function redisKill (policy: 'fail-open-local' | 'fail-closed'): Scenario {
  return {
    id: `redis-kill-${policy}`,
    fault: `Redis SIGKILLed for ${OUTAGE_MS / 1000} s, replay.failurePolicy ${policy}`,
    run: async ctx => {
      const redis = await startRedis()
      const proxy = await startFaultProxy(ctx.devDir, `redis-${policy}`, {
        redisUrl: redis.url, env: { XKSGATE__replay__failurePolicy: policy, XKSGATE__replay__commandTimeoutMs: COMMAND_TIMEOUT_MS },
      })
      try {
        const run = await underLoad(proxy, ctx, async load => {
          await redis.kill('SIGKILL')
          await new Promise(resolve => setTimeout(resolve, OUTAGE_MS))
          await redis.restart()
          return load.elapsed()
        })
        const errors = await readCounters(proxy.info.metricsUrl!, ['xksgate_replay_redis_errors_total'])
        const allowed = policy === 'fail-closed' ? run.counts.requests : 0
        const violations = commonViolations(run.counts, run.faultAtMs, allowed)
        if (run.counts.other + run.counts.unanswered > 0) violations.push(`${run.counts.other + run.counts.unanswered} failures other than 503`)
        if (policy === 'fail-closed' && run.counts.retryable === 0) violations.push('fail-closed never refused a request while Redis was down')
        if (errors.xksgate_replay_redis_errors_total === 0) violations.push('the proxy counted no Redis error: was Redis down at all?')
        return { ...run, notes: [`${errors.xksgate_replay_redis_errors_total} Redis errors counted by the proxy`], violations }
      } finally {
        await proxy.proc.stop()
        await redis.stop()
      }
    },
  }
}

export const redisKillFailOpen = redisKill('fail-open-local')
export const redisKillFailClosed = redisKill('fail-closed')
