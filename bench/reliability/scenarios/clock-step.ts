import fs from 'node:fs'
import path from 'node:path'
import { startFaultProxy } from '../proxy'
import { commonViolations, type Scenario, underLoad } from '../scenario'

/** Debian's libfaketime (package faketime). */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'
const STEP_HELD_MS = 2000

/**
 * The proxy's clock (its processes only, through libfaketime; never the machine's) stepped by `seconds` for two
 * seconds, then set right. With FAKETIME_NO_CACHE libfaketime rereads the offset file on every clock call, so the
 * step takes effect at once in the running proxy; the monotonic clock is left alone, so timers do not fire early.
 * A 10-minute skew is past auth.maxSkewSeconds (300 s): SigV4 must fail closed (401, one log line saying how far
 * off the date is) and succeed again as soon as the clock is right.
 */
function clockStep (seconds: number): Scenario {
  const sign = seconds > 0 ? '+' : '-'
  return {
    id: `clock-step${sign}${Math.abs(seconds / 60)}m`,
    fault: `the proxy's clock stepped ${sign}${Math.abs(seconds / 60)} min for ${STEP_HELD_MS / 1000} s`,
    unavailable: () => fs.existsSync(LIBFAKETIME) ? undefined : `${LIBFAKETIME} missing (apt-get install faketime)`,
    run: async ctx => {
      const offsetFile = path.join(ctx.workDir, `faketime${sign}`)
      fs.writeFileSync(offsetFile, '+0\n')
      const proxy = await startFaultProxy(ctx.devDir, `clock${sign}`, {
        env: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
      })
      try {
        let steppedAt = 0
        const run = await underLoad(proxy, ctx, async load => {
          fs.writeFileSync(offsetFile, `${sign}${Math.abs(seconds)}\n`)
          steppedAt = load.elapsed()
          await new Promise(resolve => setTimeout(resolve, STEP_HELD_MS))
          fs.writeFileSync(offsetFile, '+0\n')
          return load.elapsed()
        })
        const violations = commonViolations(run.counts, run.faultAtMs, run.counts.requests)
        // 429 is admission shedding on a busy host (KMS retries it), not a clock effect; anything else is.
        const statuses = Object.keys(run.counts.statuses).filter(s => s !== '200' && s !== '429')
        if (statuses.some(s => s !== '401')) violations.push(`answers other than 200, 401 and 429: ${statuses.join(', ')}`)
        // Requests due while the clock was wrong: all of them must have been refused.
        const refused = run.counts.statuses['401'] ?? 0
        const dueWhileWrong = Math.floor(STEP_HELD_MS * ctx.rate / 1000)
        if (refused < dueWhileWrong / 2) violations.push(`only ${refused} refused while the clock was off (${dueWhileWrong} due)`)
        if (!/X-Amz-Date is \d+ s away from proxy time/.test(proxy.log())) violations.push('no log line naming the clock skew')
        if (run.recoveryMs > 1000) violations.push(`failures went on ${run.recoveryMs} ms after the clock was right`)
        return { ...run, notes: [`${refused} refused with 401 while stepped (from ${Math.round(steppedAt)} ms)`], violations }
      } finally {
        await proxy.proc.stop()
      }
    },
  }
}

export const clockAhead = clockStep(600)
export const clockBehind = clockStep(-600)
