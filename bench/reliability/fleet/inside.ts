import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { DEV_KEYS, DEV_URI_PREFIX } from '../../../src/dev/provision'
import { killAllNow } from '../../lib/procs'
import { prepareTemplates } from '../../scenarios/prepare'
import { devCredentials, provisionOnce, type LoadTarget } from '../proxy'
import { scenarioTable, summary } from '../run-scenarios'
import { commonViolations, type LoadShape, type ScenarioResult, underLoad } from '../scenario'
import { fleetSizeVia, replayAcrossHosts } from './checks'
import { type Balancer, LB_PORT, startHaproxy } from './haproxy'
import { type FleetHost, startHosts } from './hosts'
import { COMMAND_TIMEOUT_MS } from '../scenarios/redis-kill'
import { LAN_ADDRESS } from './netns'
import { type FleetRedis, startRedisCluster, startRedisSentinel } from './redis-topologies'

/**
 * The fleet scenario, run inside the lan namespace (fleet/run-fleet.ts puts it there): three xksgate hosts
 * behind HAProxy sharing Redis, first a Redis Cluster, then Sentinel. Checks xksProxyFleetSize, a replay across
 * hosts, a Redis master failover under load and, on the Cluster variant, a host killed under load.
 */

/** Redis Cluster and Sentinel under the default replay policy, then Cluster again under fail-closed. */
const VARIANTS = [
  { variant: 'cluster', policy: 'fail-open-local' },
  { variant: 'sentinel', policy: 'fail-open-local' },
  { variant: 'cluster', policy: 'fail-closed' },
] as const

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function waitFor<T> (what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<{ value: T, ms: number }> {
  const t0 = Date.now()
  for (;;) {
    const value = await get()
    if (ok(value)) return { value, ms: Date.now() - t0 }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`)
    await sleep(100)
  }
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { prefix: { type: 'string' }, work: { type: 'string' }, rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '20' }, connections: { type: 'string', default: '16' } } })
  const work = values.work!
  const namespaces = [1, 2, 3].map(i => `${values.prefix!}-h${i}`)
  const seconds = Number(values.seconds)
  const shape: LoadShape = { rate: Number(values.rate), durationMs: seconds * 1000, faultAtMs: seconds * 400, connections: Number(values.connections) }
  const devDir = path.join(work, 'dev')
  await provisionOnce(devDir)
  const creds = devCredentials(devDir)
  const lb = await startHaproxy(work, 3)
  const results: ScenarioResult[] = []
  const checks: string[] = []
  const problems: string[] = []
  const check = (ok: boolean, line: string): void => { checks.push(`${ok ? 'pass' : 'FAIL'}: ${line}`); if (!ok) problems.push(line) }
  for (const { variant, policy } of VARIANTS) {
    const dir = path.join(work, `${variant}-${policy}`)
    fs.mkdirSync(dir, { recursive: true })
    const redis: FleetRedis = variant === 'cluster' ? await startRedisCluster(dir) : await startRedisSentinel(dir)
    // fail-closed with the Redis budget of the single-host scenario (scenarios/redis-kill.ts says why).
    const budget = policy === 'fail-closed' ? { XKSGATE__replay__commandTimeoutMs: COMMAND_TIMEOUT_MS } : {}
    const hosts = await startHosts(devDir, dir, namespaces, redis.config, { XKSGATE__replay__failurePolicy: policy, ...budget })
    try {
      await waitFor('all three hosts UP in HAProxy', lb.states, s => Object.values(s).filter(v => v === 'UP').length === 3, 20_000)
      const templates = await prepareTemplates(LB_PORT, creds, DEV_URI_PREFIX, DEV_KEYS.encryptDecrypt, LAN_ADDRESS)
      const target: LoadTarget = { host: LAN_ADDRESS, port: LB_PORT, creds, templates }
      const size = await waitFor('xksProxyFleetSize 3', () => fleetSizeVia(LAN_ADDRESS, LB_PORT, creds, DEV_URI_PREFIX), n => n === 3, 15_000).catch(() => undefined)
      check(size !== undefined, `${variant}: GetHealthStatus through HAProxy reads xksProxyFleetSize 3`)
      const replay = await replayAcrossHosts(hosts[0].address, hosts[1].address, 8443, creds, templates)
      check(replay.first === 200 && replay.second === 401, `${variant}: the same signed Encrypt sent to host 1 then host 2: ${replay.first}, then ${replay.second} ${replay.body}`)
      results.push(await redisFailover(variant, policy, redis, target, shape))
      if (variant === 'cluster' && policy === 'fail-open-local') results.push(await hostKill(hosts[2], lb, target, shape))
    } finally {
      await Promise.all(hosts.map(h => h.proc.stop()))
      await redis.stop()
    }
  }
  console.log('\n' + checks.join('\n') + '\n')
  console.log(scenarioTable(results))
  if (problems.length > 0 || results.some(r => r.violations.length > 0)) process.exitCode = 1
}

/**
 * A Redis master SIGKILLed under load. fail-open-local must lose nothing; fail-closed may answer 503 (retryable)
 * until the replica is promoted and the client has found it, and nothing else.
 */
async function redisFailover (variant: string, policy: string, redis: FleetRedis, target: LoadTarget, shape: LoadShape): Promise<ScenarioResult> {
  let failover = { killedPort: 0, failoverMs: 0 }
  const run = await underLoad(target, shape, async () => { failover = await redis.killMaster(); return undefined })
  const violations = commonViolations(run.counts, run.faultAtMs, policy === 'fail-closed' ? run.counts.requests : 0)
  if (run.counts.other + run.counts.unanswered > 0) violations.push(`${run.counts.other + run.counts.unanswered} failures other than 503`)
  const result: ScenarioResult = {
    id: `fleet-redis-${variant}-${policy}`,
    fault: `fleet of 3: a Redis ${variant === 'cluster' ? 'Cluster' : 'Sentinel'} master SIGKILLed (${policy})`,
    ...run,
    notes: [`replica promoted ${failover.failoverMs} ms after the kill`],
    violations,
  }
  console.log(`${result.id}: ${summary(result)}`)
  return result
}

/** One host SIGKILLed under load through HAProxy: only its in-flight requests may fail, and HAProxy must mark it down. */
async function hostKill (host: FleetHost, lb: Balancer, target: LoadTarget, shape: LoadShape): Promise<ScenarioResult> {
  let downMs = -1
  const run = await underLoad(target, shape, async () => {
    host.proc.child.kill('SIGKILL')
    downMs = (await waitFor(`h${host.index} DOWN in HAProxy`, lb.states, s => s[`h${host.index}`]?.startsWith('DOWN') === true, 15_000)).ms
    return undefined
  })
  const violations = commonViolations(run.counts, run.faultAtMs, shape.connections)
  const result: ScenarioResult = {
    id: 'fleet-host-kill',
    fault: 'fleet of 3 behind HAProxy: one host SIGKILLed',
    ...run,
    notes: [`HAProxy marked it DOWN ${downMs} ms after the kill`],
    violations,
  }
  console.log(`${result.id}: ${summary(result)}`)
  return result
}

main().catch(err => {
  console.error('fleet failed:', err instanceof Error ? err.stack : err)
  process.exitCode = 1
}).finally(() => killAllNow())
