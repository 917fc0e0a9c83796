import path from 'node:path'
import { readCounters } from '../../lib/connection-info'
import { startFaultProxy } from '../proxy'
import { commonViolations, type Scenario, underLoad } from '../scenario'

const TOGGLE = path.join(__dirname, '..', 'faults', 'backend-fault-toggle.js')
/** How long backend 2 stays broken: long enough for its breaker to open and its probes to fail a few times. */
const OUTAGE_MS = 3000
/** After the restore, time for a probe to bring backend 2 back before the load ends. */
const MIN_AFTER_RESTORE_MS = 6000
const FAILED_BACKEND = 'hsm-2'

/**
 * With two HSM backends (`npm run dev -- --backends 2`: two SoftHSM tokens holding the same keys), backend 2
 * loses every session and cannot log in again (the preload in faults/ changes its PIN inside the proxy), then is
 * restored. An operation that fails on it for that reason is retried on backend 1, its breaker takes it out and
 * probes it back in: no request may fail, and backend 2 must be serving again by the end.
 */
export const hsmBackendFail: Scenario = {
  id: 'hsm-backend-fail',
  fault: `one HSM backend of 2 failing for ${OUTAGE_MS / 1000} s, then restored`,
  run: async ctx => {
    const proxy = await startFaultProxy(ctx.devDir, 'hsm-backend-fail', { backends: 2, nodeArgs: ['-r', TOGGLE] })
    const toggled = (what: 'broken' | 'restored'): boolean => proxy.log().includes(`backend-fault-toggle: backend ${FAILED_BACKEND} ${what}`)
    try {
      const shape = { ...ctx, durationMs: Math.max(ctx.durationMs, ctx.faultAtMs + OUTAGE_MS + MIN_AFTER_RESTORE_MS) }
      const run = await underLoad(proxy, shape, async load => {
        process.kill(proxy.pid, 'SIGUSR2')
        await new Promise(resolve => setTimeout(resolve, OUTAGE_MS))
        process.kill(proxy.pid, 'SIGUSR2')
        return load.elapsed()
      })
      const state = `xksgate_hsm_backend_state{backend="${FAILED_BACKEND}",state="ACTIVE"}`
      const opens = `xksgate_hsm_backend_breaker_opens_total{backend="${FAILED_BACKEND}"}`
      const failovers = `xksgate_hsm_backend_failovers_total{backend="${FAILED_BACKEND}"}`
      const m = await readCounters(proxy.info.metricsUrl!, [state, opens, failovers])
      const violations = commonViolations(run.counts, run.faultAtMs, 0)
      if (!toggled('broken') || !toggled('restored')) violations.push('the fault was not injected and undone')
      if (m[opens] === 0) violations.push(`${FAILED_BACKEND}'s breaker never opened: did it fail at all?`)
      if (m[state] !== 1) violations.push(`${FAILED_BACKEND} not ACTIVE again by the end of the load`)
      return { ...run, notes: [`${FAILED_BACKEND}: breaker opened ${m[opens]}×, ${m[failovers]} operations failed over`], violations }
    } finally {
      await proxy.proc.stop()
    }
  },
}
