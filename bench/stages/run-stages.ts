import path from 'node:path'
import type { BenchConfig } from '../config'
import { loadConfig } from '../../src/config/load'
import { provisionDevEnvironment } from '../../src/dev/provision'
import { startRedis } from '../lib/redis'
import { inProcessStages, type StageCost } from './in-process'
import { transportStages } from './transport'

/**
 * `npm run bench -- --stages`: the CPU each stage of an Encrypt request costs, each stage run on its own with the
 * real code (bench/README.md "The stage table"). The total adds the stages one 4 KiB Encrypt passes through, with
 * the hand-off at 4 operations in flight (the full-path scenario's mean batch is reported next to it).
 */

const ENCRYPT_PATH = [
  'transport (TLS, HTTP parse, write)', 'frontend: head copy, body read, dispatch', 'route',
  'admission (quota, lateness, in-flight, HSM backlog)', 'SigV4 verification',
  'replay check, Redis (client side)', 'replay check, Redis (redis-server)', 'JSON parse and validation',
  'policy decision (example.json)',
  'HSM router, 1 backend', 'thread hand-off, 4 in flight', 'HSM operation (SoftHSM encrypt, 4 KiB)', 'response encoding', 'request log line',
  'request metrics',
]

export interface StageReport { costs: StageCost[], encryptTotalUs: number, shedTotalUs: number, transportUs: number }

export async function runStages (cfg: BenchConfig, dir: string): Promise<StageReport> {
  const env = await provisionDevEnvironment(path.join(dir, 'stages'), 0)
  const config = loadConfig({ file: env.configFile })
  const redis = await startRedis(dir)
  try {
    const costs = [
      ...await transportStages(cfg, dir),
      ...await inProcessStages({ config, accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey, redisUrl: redis.url, redisPid: redis.server.child.pid! }),
    ]
    const us = (stage: string): number => costs.find(c => c.stage === stage)?.us ?? NaN
    return {
      costs,
      encryptTotalUs: ENCRYPT_PATH.reduce((sum, stage) => sum + us(stage), 0),
      // A shed request still pays the transport and the frontend; the core adds its own part.
      shedTotalUs: us('transport (TLS, HTTP parse, write)') + us('frontend: head copy, body read, dispatch') + us('429 in the XKS core (shed)'),
      transportUs: us('transport (TLS, HTTP parse, write)'),
    }
  } finally {
    await redis.server.stop()
  }
}

export function stageTable (r: StageReport): string {
  const rows = [['stage', 'µs CPU', 'share of an Encrypt', 'how it is measured']]
  for (const c of r.costs) {
    const share = ENCRYPT_PATH.includes(c.stage) ? `${(c.us * 100 / r.encryptTotalUs).toFixed(1)}%` : '-'
    rows.push([c.stage, c.us.toFixed(1), share, c.how])
  }
  rows.push(['Encrypt, all stages above marked with a share', r.encryptTotalUs.toFixed(1), '100%', 'sum'])
  rows.push(['429 (shed), transport + frontend + core', r.shedTotalUs.toFixed(1), '-',
    `${(r.shedTotalUs / r.transportUs).toFixed(2)}× the transport's own cost (target ≤ 2×)`])
  const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
  const line = (row: string[]): string => row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')
  return [line(rows[0]), widths.map(w => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n')
}

export function stagesJson (r: StageReport): string {
  return JSON.stringify({
    stagesUs: Object.fromEntries(r.costs.map(c => [c.stage, Number(c.us.toFixed(2))])),
    encryptTotalUs: Number(r.encryptTotalUs.toFixed(1)),
    shedTotalUs: Number(r.shedTotalUs.toFixed(1)),
    shedVsTransport: Number((r.shedTotalUs / r.transportUs).toFixed(2)),
  })
}
