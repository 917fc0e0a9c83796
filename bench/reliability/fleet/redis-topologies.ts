import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { start, type Tracked, waitForOutput } from '../../lib/procs'
import { LAN_ADDRESS } from './netns'

/**
 * The fleet's shared Redis, in the lan namespace: a Redis Cluster of three masters, each with one replica (so a
 * master can fail over), or one master and one replica watched by three Sentinels. Non-persistent, private ports.
 */

export interface RedisNode { port: number, proc: Tracked }

export interface FleetRedis {
  /** The `redis` section the hosts' configs get. */
  config: Record<string, unknown>
  /** SIGKILL to the master serving `key` (Cluster) or the master (Sentinel); resolves once a replica took over. */
  killMaster: () => Promise<{ killedPort: number, failoverMs: number }>
  stop: () => Promise<void>
}

const cli = (port: number, ...args: string[]): string =>
  execFileSync('redis-cli', ['-h', LAN_ADDRESS, '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 })

async function node (dir: string, port: number, extra: string[]): Promise<RedisNode> {
  const nodeDir = path.join(dir, `redis-${port}`)
  fs.mkdirSync(nodeDir, { recursive: true })
  const proc = start('redis-server', ['--port', String(port), '--bind', LAN_ADDRESS, '--save', '', '--appendonly', 'no',
    '--dir', nodeDir, '--protected-mode', 'no', ...extra], path.join(nodeDir, 'log'))
  await waitForOutput(proc, 'Ready to accept connections', 10_000)
  return { port, proc }
}

async function until (what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return Date.now() - t0
}

const safe = (fn: () => string): string => { try { return fn() } catch { return '' } }

export async function startRedisCluster (dir: string): Promise<FleetRedis> {
  const ports = [7001, 7002, 7003, 7004, 7005, 7006]
  const nodes = await Promise.all(ports.map(p => node(dir, p, ['--cluster-enabled', 'yes', '--cluster-node-timeout', '1000',
    '--cluster-config-file', path.join(dir, `nodes-${p}.conf`)])))
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map(p => `${LAN_ADDRESS}:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { stdio: 'ignore', timeout: 30_000 })
  await until('cluster_state:ok', () => ports.every(p => safe(() => cli(p, 'cluster', 'info')).includes('cluster_state:ok')), 30_000)
  const masters = (): number[] => safe(() => cli(ports[0], 'cluster', 'nodes')).split('\n')
    .filter(l => /\bmaster\b/.test(l) && !/\bfail\b/.test(l) && / connected \d/.test(l)).map(l => Number(/:(\d+)@/.exec(l)?.[1]))
  return {
    config: { mode: 'cluster', nodes: ports.slice(0, 3).map(port => ({ host: LAN_ADDRESS, port })) },
    killMaster: async () => {
      const victim = masters()[0]
      const alive = ports.find(p => p !== victim)!
      nodes.find(n => n.port === victim)!.proc.child.kill('SIGKILL')
      // Promoted once the cluster has marked the victim failed and serves all slots again from three masters.
      const failoverMs = await until('a replica promoted', () => {
        const nodes = safe(() => cli(alive, 'cluster', 'nodes')).split('\n')
        const victimFailed = nodes.some(l => l.includes(`:${victim}@`) && /[ ,]fail[ ,]/.test(l))
        const masters = nodes.filter(l => /\bmaster\b/.test(l) && !/fail/.test(l) && / connected \d/.test(l)).length
        return victimFailed && masters === 3 && safe(() => cli(alive, 'cluster', 'info')).includes('cluster_state:ok')
      }, 30_000)
      return { killedPort: victim, failoverMs }
    },
    stop: async () => { await Promise.all(nodes.map(n => n.proc.stop())) },
  }
}

export async function startRedisSentinel (dir: string): Promise<FleetRedis> {
  const master = await node(dir, 7101, [])
  const replica = await node(dir, 7102, ['--replicaof', LAN_ADDRESS, '7101'])
  await until('the replica in sync', () => safe(() => cli(7102, 'info', 'replication')).includes('master_link_status:up'), 20_000)
  const sentinels = await Promise.all([26379, 26380, 26381].map(async port => {
    const file = path.join(dir, `sentinel-${port}.conf`)
    fs.writeFileSync(file, [`port ${port}`, `bind ${LAN_ADDRESS}`, 'protected-mode no', `sentinel monitor xks ${LAN_ADDRESS} 7101 2`,
      'sentinel down-after-milliseconds xks 1000', 'sentinel failover-timeout xks 5000', ''].join('\n'))
    const proc = start('redis-server', [file, '--sentinel'], path.join(dir, `sentinel-${port}.log`))
    await waitForOutput(proc, 'Sentinel ID', 10_000)
    return { port, proc }
  }))
  return {
    config: { mode: 'sentinel', name: 'xks', sentinels: sentinels.map(s => ({ host: LAN_ADDRESS, port: s.port })) },
    killMaster: async () => {
      master.proc.child.kill('SIGKILL')
      const failoverMs = await until('the replica promoted', () => safe(() => cli(7102, 'info', 'replication')).includes('role:master'), 30_000)
      return { killedPort: 7101, failoverMs }
    },
    stop: async () => { await Promise.all([master, replica, ...sentinels].map(n => n.proc.stop())) },
  }
}
