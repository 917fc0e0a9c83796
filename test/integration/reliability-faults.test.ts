/**
 * The short version of `npm run reliability` (bench/reliability): each fault injected once under a steady signed
 * load, every request counted, and each scenario's own rule on what that fault may cost. pm2 reload, Redis
 * under fail-open-local, an applied reload of the primary and an HSM backend failing have tests of their own
 * (pm2-reload.test.ts, cluster-redis-outage.test.ts, cluster-reload.test.ts, hsm-failover.test.ts); the full run
 * covers them under this same harness. The primary's refused reload is here: it costs about 8 s, the applied one
 * (whose load must outlast two process starts) about 18 s.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runScenarios, summary } from '../../bench/reliability/run-scenarios'
import type { LoadShape } from '../../bench/reliability/scenario'
import { clockAhead } from '../../bench/reliability/scenarios/clock-step'
import { hsmThreadKill } from '../../bench/reliability/scenarios/hsm-thread-kill'
import { primaryReloadRefused } from '../../bench/reliability/scenarios/primary-reload'
import { redisKillFailClosed } from '../../bench/reliability/scenarios/redis-kill'
import { servingProcessKill } from '../../bench/reliability/scenarios/serving-process-kill'
import { stdoutBlocked } from '../../bench/reliability/scenarios/stdout-blocked'

const SHORT: LoadShape = { rate: 100, durationMs: 5000, faultAtMs: 2000, connections: 8 }

t.test('faults under signed load cost only what each scenario allows', async t => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-reliability-'))
  t.teardown(() => fs.rmSync(workDir, { recursive: true, force: true }))
  const scenarios = [servingProcessKill, hsmThreadKill, redisKillFailClosed, primaryReloadRefused, stdoutBlocked, clockAhead]
  const { results, skipped } = await runScenarios(scenarios, workDir, SHORT)
  t.same(skipped, [], 'every scenario could run (faketime installed)')
  for (const r of results) {
    t.comment(`${r.id}: ${summary(r)}`)
    t.equal(r.counts.ok + r.counts.retryable + r.counts.other + r.counts.unanswered, r.counts.requests, `${r.id}: every request counted once`)
    t.same(r.violations, [], `${r.id}: ${r.fault}`)
  }
})
