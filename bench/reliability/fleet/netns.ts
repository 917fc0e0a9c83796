import { execFileSync } from 'node:child_process'

/**
 * The fleet's network: a "lan" namespace holding a bridge (the load balancer, Redis and the client live there)
 * and one namespace per host, each joined to the bridge by a veth pair. Every address is on 10.213.7.0/24
 * inside these namespaces; nothing is added to the machine's own network namespace. Names carry the run's pid,
 * so two runs never collide, and removal kills whatever still runs inside (only processes this run started).
 */

export const SUBNET = '10.213.7'
export const LAN_ADDRESS = `${SUBNET}.254`
export const hostAddress = (i: number): string => `${SUBNET}.${i}`

export interface Topology {
  prefix: string
  lan: string
  hosts: string[]
}

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }) }

/** Why the fleet cannot run here, or undefined. */
export function fleetUnavailable (tools: string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)'
  for (const tool of ['ip', ...tools]) {
    try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }) } catch { return `needs ${tool} (apt-get install -y ${tool === 'ip' ? 'iproute2' : tool === 'redis-server' ? 'redis-server' : tool})` }
  }
  const probe = `xrprobe${process.pid}`
  try { ip('netns', 'add', probe) } catch (err) { return `cannot create a network namespace: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)}` }
  ip('netns', 'del', probe)
  return undefined
}

export function createTopology (hostCount: number): Topology {
  const prefix = `xr${process.pid % 100000}`
  const t: Topology = { prefix, lan: `${prefix}-lan`, hosts: Array.from({ length: hostCount }, (_, i) => `${prefix}-h${i + 1}`) }
  try {
    ip('netns', 'add', t.lan)
    ip('-n', t.lan, 'link', 'set', 'lo', 'up')
    ip('-n', t.lan, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', t.lan, 'addr', 'add', `${LAN_ADDRESS}/24`, 'dev', 'br0')
    ip('-n', t.lan, 'link', 'set', 'br0', 'up')
    t.hosts.forEach((ns, i) => {
      const lanSide = `${prefix}v${i + 1}`
      const hostSide = `${prefix}e${i + 1}`
      ip('netns', 'add', ns)
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', t.lan, 'link', 'add', lanSide, 'type', 'veth', 'peer', 'name', hostSide, 'netns', ns)
      ip('-n', t.lan, 'link', 'set', lanSide, 'master', 'br0', 'up')
      ip('-n', ns, 'addr', 'add', `${hostAddress(i + 1)}/24`, 'dev', hostSide)
      ip('-n', ns, 'link', 'set', hostSide, 'up')
    })
  } catch (err) {
    removeTopology(t)
    throw err
  }
  return t
}

/** Kills what still runs in the namespaces (this run's processes) and deletes them; never throws. */
export function removeTopology (t: Topology): void {
  for (const ns of [...t.hosts, t.lan]) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(p => /^\d+$/.test(p))
      for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch {} }
    } catch {}
    try { ip('netns', 'del', ns) } catch {}
  }
}
