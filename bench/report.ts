import os from 'node:os'
import type { BenchConfig } from './config'
import { pctMs } from './loadgen/run-load'
import type { ServerFigures } from './scenarios/measure'
import type { NetHsmFigures } from './scenarios/net-hsm'
import type { ProxyResults } from './scenarios/proxy'
import type { TransportFigures } from './scenarios/transport'

/** The final table: every figure next to its same-run baseline, and each target marked met or missed. */

export interface Results {
  transport?: TransportFigures
  rawHsm?: number
  proxy?: ProxyResults
  naive?: ServerFigures
  /** Scenario g: the full path on 2 serving processes. */
  scaling?: ServerFigures
  /** Scenario h: the HSM across a network, one entry per latency. */
  netHsm?: NetHsmFigures[]
}

type Row = string[]

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US')
const ms = (x: number): string => `${x.toFixed(3)} ms`
const verdict = (ok: boolean | undefined): string => ok === undefined ? 'n/a' : ok ? 'MET' : 'MISSED'

/** Server CPU (proxy processes and redis-server) per answered request, in µs. */
export const serverUs = (f: ServerFigures): number => f.serverCores * 1e6 / Math.max(1, f.load.totalRps)

/** 5xx answers (and connection errors and timeouts, status 0) of a phase. */
const failures = (f: ServerFigures): number =>
  Object.entries(f.load.statuses).filter(([s]) => s.startsWith('5') || s === '0').reduce((n, [, c]) => n + c, 0)

export function table (r: Results, cfg: BenchConfig): string {
  const full = r.proxy?.full
  const naive = r.naive
  const ceiling = r.transport?.ceiling.load.okRps
  const steady = r.proxy?.steady
  const over = r.proxy?.overload
  const rows: Row[] = [['figure', 'measured', 'baseline (same run)', 'ratio', 'target', 'verdict']]
  const ratio = (a?: number, b?: number): string => a !== undefined && b ? `${(a / b).toFixed(2)}×` : '-'
  const fullRps = full?.load.okRps
  const naiveRps = naive?.load.okRps
  rows.push(['c. full path, closed loop', fullRps === undefined ? '-' : `${n0(fullRps)} req/s`,
    naiveRps === undefined ? '-' : `naive ${n0(naiveRps)} req/s`, ratio(fullRps, naiveRps), '≥ 1.5× naive',
    verdict(fullRps !== undefined && naiveRps ? fullRps / naiveRps >= 1.5 : undefined)])
  if (full !== undefined) {
    const us = serverUs(full)
    const naiveUs = naive === undefined ? undefined : serverUs(naive)
    rows.push(['c. server CPU per request (+ redis-server)', `${us.toFixed(1)} µs`, naiveUs === undefined ? '-' : `naive ${naiveUs.toFixed(1)} µs`,
      ratio(us, naiveUs), '≤ 200 µs and ≤ 0.75× naive', verdict(naiveUs === undefined ? undefined : us <= 200 && us <= 0.75 * naiveUs)])
  }
  if (r.proxy?.meanBatch !== undefined) rows.push(['c. operations per HSM batch', r.proxy.meanBatch.toFixed(1), '-', '-', '-', '-'])
  if (r.proxy?.majorGcsPer10k !== undefined) rows.push(['c. full collections per 10,000 requests', r.proxy.majorGcsPer10k.toFixed(1), '-', '-', '-', '-'])
  if (r.scaling !== undefined) {
    rows.push(['g. full path, 2 processes', `${n0(r.scaling.load.okRps)} req/s`, fullRps === undefined ? '-' : `1 process ${n0(fullRps)} req/s`,
      ratio(r.scaling.load.okRps, fullRps), '-', '-'])
  }
  rows.push(['c vs a. transport ceiling', fullRps === undefined ? '-' : n0(fullRps), ceiling === undefined ? '-' : `${n0(ceiling)} req/s`,
    ratio(fullRps, ceiling), '-', '-'])
  rows.push(['c vs b. raw HSM, one thread', fullRps === undefined ? '-' : n0(fullRps),
    r.rawHsm === undefined ? '-' : `${n0(r.rawHsm)} enc/s`, ratio(fullRps, r.rawHsm), '-', '-'])
  if (steady !== undefined) {
    const l = steady.load
    // The transport server under the same open loop: the latency floor of this client, TLS and machine.
    const floor = r.transport?.steady.load.ok
    const limit = (p: number): number | undefined => floor === undefined
      ? undefined
      : p === 99 ? Math.max(3, 2 * pctMs(floor, 99)) : p === 99.9 ? 2 * pctMs(floor, 99.9) : undefined
    const pct = (p: number, target: string): Row => {
      const bound = limit(p)
      return [`d. ${p === 100 ? 'max' : `p${p}`} at ${cfg.steadyRate}/s`,
        ms(pctMs(l.ok, p)), floor === undefined ? '-' : `transport ${ms(pctMs(floor, p))}`,
        floor === undefined ? '-' : ratio(pctMs(l.ok, p), pctMs(floor, p)), bound === undefined ? target : `${target} = ${bound.toFixed(2)} ms`,
        bound === undefined ? '-' : verdict(pctMs(l.ok, p) <= bound)]
    }
    rows.push(pct(50, '-'), pct(99, '≤ max(3 ms, 2× transport)'), pct(99.9, '≤ 2× transport'), pct(100, '-'))
    rows.push([`d. non-2xx at ${cfg.steadyRate}/s`, String(l.non2xx), '-', '-', '0', verdict(l.non2xx === 0)])
    rows.push([`d. RSS growth over ${cfg.steadyMs / 1000} s`, `${steady.rssGrowthPct.toFixed(1)}%`,
      `${steady.rssStartMb.toFixed(1)} MB at start`, '-', '< 10%', verdict(steady.rssGrowthPct < 10)])
  }
  if (over !== undefined) {
    const l = over.load
    rows.push([`e. overload ${n0(over.rate)}/s: served share`, `${(servedShare(over) * 100).toFixed(1)}%`,
      `429: ${(l.throttled.totalCount * 100 / answered(over)).toFixed(1)}%`, '-', '-', '-'])
    rows.push(['e. overload: served p99 (from send)', ms(pctMs(l.ok, 99)), `send lag p99 ${ms(pctMs(l.lag, 99))}`, '-', '≤ 250 ms', verdict(pctMs(l.ok, 99) <= 250)])
    rows.push(['e. overload: 429 p99 (from send)', l.throttled.totalCount === 0 ? 'no 429' : ms(pctMs(l.throttled, 99)), '-', '-', '≤ 50 ms',
      verdict(l.throttled.totalCount === 0 ? undefined : pctMs(l.throttled, 99) <= 50)])
    rows.push(['e. overload: 5xx and unanswered', String(failures(over)), '-', '-', '0', verdict(failures(over) === 0)])
  }
  return format(rows) + '\n\n' + costs(r) + '\n\n' + memory(r)
}

const answered = (o: ServerFigures): number =>
  o.load.ok.totalCount + o.load.throttled.totalCount + o.load.other.totalCount

export const servedShare = (o: ServerFigures): number => o.load.ok.totalCount / Math.max(1, answered(o))

const phases = (r: Results): Array<[string, ServerFigures | undefined]> => [['a. transport', r.transport?.ceiling],
  ['a. transport, open loop', r.transport?.steady],
  ['c. full path', r.proxy?.full], ['d. steady', r.proxy?.steady], ['e. overload', r.proxy?.overload], ['f. naive', r.naive],
  ['g. full path, 2 processes', r.scaling]]

/** Phases during which other processes took a noticeable share of the two cores. */
export function foreignLoadNotes (r: Results): string[] {
  return phases(r).filter(([, f]) => f !== undefined && f.foreignCores > 0.25).map(([name, f]) =>
    `other processes used ${f!.foreignCores.toFixed(2)} of the 2 cores during ${name}: its figures understate this machine`)
}

function costs (r: Results): string {
  const rows: Row[] = [['phase (CPU in cores)', 'server (+ redis-server)', 'client', 'others on the machine', 'req/s', 'µs server CPU per req']]
  for (const [name, f] of phases(r)) {
    if (f === undefined) continue
    rows.push([name, f.serverCores.toFixed(2), f.load.clientCores.toFixed(2), f.foreignCores.toFixed(2),
      n0(f.load.totalRps), serverUs(f).toFixed(1)])
  }
  return format(rows)
}

function memory (r: Results): string {
  const rows: Row[] = [['RSS per process (end of phase)', 'pid', 'MB']]
  const add = (name: string, f?: ServerFigures): void => f?.rss.forEach(p => rows.push([name, String(p.pid), p.rssMb.toFixed(1)]))
  add('a. transport server', r.transport?.ceiling)
  add('c-e. xksgate', r.proxy?.overload ?? r.proxy?.steady ?? r.proxy?.full)
  add('f. naive server', r.naive)
  rows.push(['load generator (all threads)', String(process.pid), (process.memoryUsage().rss / 2 ** 20).toFixed(1)])
  return format(rows)
}

function format (rows: Row[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  const line = (r: Row): string => r.map((c, i) => c.padEnd(widths[i])).join(' | ')
  return [line(rows[0]), widths.map(w => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n')
}

export function machine (): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `Node ${process.version}, ${os.type()} ${os.release()}`
}

const round = (x: number | undefined, d = 3): number | null => x === undefined ? null : Number(x.toFixed(d))

/** The one-line JSON summary of `--json`. Figures of scenarios that did not run are null. */
export function jsonLine (r: Results): string {
  const steady = r.proxy?.steady?.load
  const over = r.proxy?.overload
  const floor = r.transport?.steady.load.ok
  return JSON.stringify({
    fullPathRps: round(r.proxy?.full.load.okRps, 0),
    transportCeilingRps: round(r.transport?.ceiling.load.okRps, 0),
    naiveBaselineRps: round(r.naive?.load.okRps, 0),
    rawHsmOpsPerThread: round(r.rawHsm, 0),
    serverUsPerRequest: round(r.proxy?.full && serverUs(r.proxy.full), 1),
    naiveServerUsPerRequest: round(r.naive && serverUs(r.naive), 1),
    meanHsmBatch: round(r.proxy?.meanBatch, 1),
    majorGcsPer10k: round(r.proxy?.majorGcsPer10k, 1),
    twoProcessRps: round(r.scaling?.load.okRps, 0),
    p50MsAt1800: round(steady && pctMs(steady.ok, 50)),
    p99MsAt1800: round(steady && pctMs(steady.ok, 99)),
    p999MsAt1800: round(steady && pctMs(steady.ok, 99.9)),
    transportP99MsAt1800: round(floor && pctMs(floor, 99)),
    transportP999MsAt1800: round(floor && pctMs(floor, 99.9)),
    non2xxAt1800: steady?.non2xx ?? null,
    overload: {
      rate: over?.rate ?? null,
      servedShare: round(over && servedShare(over), 4),
      servedP99Ms: round(over && pctMs(over.load.ok, 99)),
      rejectedP99Ms: round(over && over.load.throttled.totalCount > 0 ? pctMs(over.load.throttled, 99) : undefined),
      sendLagP99Ms: round(over && pctMs(over.load.lag, 99)),
      failures: over === undefined ? null : failures(over),
    },
    rssGrowthPct: round(r.proxy?.steady?.rssGrowthPct, 2),
    netHsm: r.netHsm?.map(h => ({
      latencyMs: h.latencyMs,
      rps: round(h.proxy.load.okRps, 0),
      naiveRps: round(h.naive.load.okRps, 0),
      p50MsAt1800: round(pctMs(h.open.load.ok, 50)),
      p99MsAt1800: round(pctMs(h.open.load.ok, 99)),
      p999MsAt1800: round(pctMs(h.open.load.ok, 99.9)),
      non2xxAt1800: h.open.load.non2xx,
      floorMsAt1800: round(h.floorMs),
    })) ?? null,
  })
}

/** Scenario h's table: per latency, the proxy against the naive baseline, and the open loop against its floor. */
export function netHsmTable (rows: NetHsmFigures[], cfg: BenchConfig): string {
  const header = ['HSM latency', 'proxy req/s', 'naive req/s', `p50 at ${cfg.steadyRate}`, 'p99', 'p99.9', 'non-2xx', 'floor (transport p50 + latency)']
  const body = rows.map(h => [`${h.latencyMs} ms`, n0(h.proxy.load.okRps), n0(h.naive.load.okRps), ms(pctMs(h.open.load.ok, 50)),
    ms(pctMs(h.open.load.ok, 99)), ms(pctMs(h.open.load.ok, 99.9)), String(h.open.load.non2xx), h.floorMs === undefined ? 'n/a' : ms(h.floorMs)])
  const widths = header.map((_, i) => Math.max(...[header, ...body].map(row => row[i].length)))
  return ['h. network HSM (shaped HSM: SoftHSM plus a fixed round trip per operation)',
    ...[header, ...body].map(row => row.map((cell, i) => cell.padEnd(widths[i])).join('  '))].join('\n')
}
