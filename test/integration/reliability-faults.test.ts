/**
 * The short version of `npm run reliability` (bench/reliability): each fault injected once under a steady signed
 * load, every request counted, and each scenario's own rule on what that fault may cost. pm2 reload and Redis
 * under fail-open-local have tests of their own (pm2-reload.test.ts, cluster-redis-outage.test.ts); the full
 * run covers them under this same harness.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runScenarios, summary } from '../../bench/reliability/run-scenarios'
import type { LoadShape } from '../../bench/reliability/scenario'
import { clockAhead } from '../../bench/reliability/scenarios/clock-step'
import { hsmThreadKill } from '../../bench/reliability/scenarios/hsm-thread-kill'
import { redisKillFailClosed } from '../../bench/reliability/scenarios/redis-kill'
import { servingProcessKill } from '../../bench/reliability/scenarios/serving-process-kill'
import { stdoutBlocked } from '../../bench/reliability/scenarios/stdout-blocked'

const SHORT: LoadShape = { rate: 100, durationMs: 5000, faultAtMs: 2000, connections: 8 }

t.test('faults under signed load cost only what each scenario allows', async t => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-reliability-'))
  t.teardown(() => fs.rmSync(workDir, { recursive: true, force: true }))
  const scenarios = [servingProcessKill, hsmThreadKill, redisKillFailClosed, stdoutBlocked, clockAhead]
  const { results, skipped } = await runScenarios(scenarios, workDir, SHORT)
  t.same(skipped, [], 'every scenario could run (faketime installed)')
  for (const r of results) {
    t.comment(`${r.id}: ${summary(r)}`)
    t.equal(r.counts.ok + r.counts.retryable + r.counts.other + r.counts.unanswered, r.counts.requests, `${r.id}: every request counted once`)
    t.same(r.violations, [], `${r.id}: ${r.fault}`)
  }
})
