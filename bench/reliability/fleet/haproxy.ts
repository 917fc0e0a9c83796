import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { start, type Tracked } from '../../lib/procs'
import { hostAddress, LAN_ADDRESS } from './netns'

/**
 * HAProxy in TCP mode as the NLB's stand-in: TLS passes through to the hosts, each health-checked with
 * GET /readyz on its plain-HTTP health port every 500 ms (down after 2 failures, up after 2 successes).
 * `option redispatch` with one retry sends a connection that a dead host refused to another host, as an NLB's
 * new flows go only to healthy targets.
 */

export const LB_PORT = 8443
export const HOST_PORT = 8443
export const HEALTH_PORT = 8080

export interface Balancer {
  proc: Tracked
  /** Server name → HAProxy's status (UP, DOWN, ...). */
  states: () => Promise<Record<string, string>>
}

export async function startHaproxy (dir: string, hosts: number): Promise<Balancer> {
  const socket = path.join(dir, 'haproxy.sock')
  const cfg = path.join(dir, 'haproxy.cfg')
  fs.writeFileSync(cfg, [
    'global', `  stats socket ${socket} mode 600 level admin`, '  log stderr format short local0 info',
    'defaults', '  mode tcp', '  log global', '  timeout connect 1s', '  timeout client 60s', '  timeout server 60s', '  retries 1', '  option redispatch',
    'frontend xks', `  bind ${LAN_ADDRESS}:${LB_PORT}`, '  default_backend hosts',
    'backend hosts', '  balance roundrobin', '  option httpchk', '  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host health', '  http-check expect status 200',
    `  default-server check port ${HEALTH_PORT} inter 500 fall 2 rise 2`,
    ...Array.from({ length: hosts }, (_, i) => `  server h${i + 1} ${hostAddress(i + 1)}:${HOST_PORT}`), '',
  ].join('\n'))
  const proc = start('haproxy', ['-db', '-f', cfg], path.join(dir, 'haproxy.log'))
  for (const deadline = Date.now() + 10_000; !fs.existsSync(socket);) {
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`haproxy did not start:\n${proc.output()}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return { proc, states: async () => parseStat(await command(socket, 'show stat')) }
}

function command (socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const c = net.connect(socket, () => c.write(line + '\n'))
    c.setEncoding('utf8').on('data', d => { out += d }).on('end', () => resolve(out)).on('error', reject)
  })
}

function parseStat (csv: string): Record<string, string> {
  const [header, ...rows] = csv.trim().split('\n')
  const cols = header.replace(/^# /, '').split(',')
  const sv = cols.indexOf('svname')
  const st = cols.indexOf('status')
  return Object.fromEntries(rows.map(r => r.split(',')).filter(r => r[0] === 'hosts' && r[sv] !== 'BACKEND').map(r => [r[sv], r[st]]))
}
