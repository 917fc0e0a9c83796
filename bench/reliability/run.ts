import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { cleanupOnExit, killAllNow } from '../lib/procs'
import { runFleet } from './fleet/run-fleet'
import { fuzzProxy } from './fuzz/fuzz-proxy'
import { fuzzSummary } from './fuzz/run-fuzz'
import { runScenarios, scenarioTable } from './run-scenarios'
import type { LoadShape } from './scenario'
import { SCENARIOS } from './scenarios/index'

const USAGE = `usage: npm run reliability -- [--short] [--only ID,ID] [--rate R] [--seconds S] [--connections N]
                              [--fuzz N] [--seed S] [--case N] [--fleet]

  --short          6 s of load per scenario, 10,000 fuzzed requests (about what CI runs)
  --only ID,...    these scenarios only (${SCENARIOS.map(s => s.id).join(', ')}, fuzz)
  --rate R         steady load, req/s (default 300; short 150)
  --seconds S      load per scenario (default 20; short 6); the fault comes at 40% of it
  --connections N  keep-alive connections of the load (default 16)
  --fuzz N         fuzzed requests (default 100000; short 10000)
  --seed S         the fuzzer's seed (default: random, printed)
  --case N         rerun the fuzzer's case N of --seed only (what a failure prints)
  --fleet          the NLB-style fleet scenario instead (root, ip netns, haproxy, redis-server)
`

/** `npm run reliability`: every fault scenario under signed load, then the fuzzer; exit 1 if any check failed. */
async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      only: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      connections: { type: 'string', default: '16' },
      fuzz: { type: 'string' },
      seed: { type: 'string' },
      case: { type: 'string' },
      fleet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) { process.stdout.write(USAGE); return }
  if (values.fleet) {
    process.exitCode = await runFleet({ rate: Number(values.rate ?? 200), seconds: Number(values.seconds ?? 20), connections: Number(values.connections) })
    return
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-reliability-'))
  cleanupOnExit(workDir)
  const seconds = Number(values.seconds ?? (values.short ? 6 : 20))
  const shape: LoadShape = {
    rate: Number(values.rate ?? (values.short ? 150 : 300)),
    durationMs: seconds * 1000,
    faultAtMs: seconds * 400,
    connections: Number(values.connections),
    full: !values.short,
  }
  const only = values.only?.split(',') ?? (values.case !== undefined ? ['fuzz'] : undefined)
  const scenarios = SCENARIOS.filter(s => only === undefined || only.includes(s.id))
  const started = new Date()
  console.log(`xksgate reliability${values.short ? ' (short)' : ''}: ${shape.rate} req/s, ${seconds} s per scenario, ` +
    `${shape.connections} connections; ${os.cpus().length} cores, load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
  const { results, skipped } = await runScenarios(scenarios, workDir, shape, line => console.log(line))
  if (results.length > 0) {
    console.log(`\n${started.toISOString()}, ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s\n`)
    console.log(scenarioTable(results))
  }
  for (const s of skipped) console.log(`skipped: ${s}`)
  if (results.some(r => r.violations.length > 0)) process.exitCode = 1
  if (only !== undefined && !only.includes('fuzz')) return
  const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31))
  const first = values.case === undefined ? undefined : Number(values.case)
  const count = first !== undefined ? 1 : Number(values.fuzz ?? (values.short ? 10_000 : 100_000))
  const fuzz = await fuzzProxy(path.join(workDir, 'dev'), { seed, count, lanes: 12, first })
  console.log('\n' + fuzzSummary(fuzz.totals))
  for (const p of fuzz.problems) console.log(`FAILED: ${p}`)
  if (fuzz.totals.failures.length > 0 || fuzz.problems.length > 0) process.exitCode = 1
}

main().catch(err => {
  console.error('reliability failed:', err instanceof Error ? err.stack : err)
  killAllNow()
  process.exitCode = 1
}).finally(() => killAllNow())
