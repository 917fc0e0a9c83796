import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/paths'
import { promqlMetricNames, unknownMetrics } from '../helpers/registered-metrics'

interface Panel { title: string, type: string, targets?: Array<{ expr: string }>, gridPos: { x: number, y: number, w: number, h: number } }
interface Dashboard { panels: Panel[], templating: { list: Array<{ name: string, query: string | { query: string } }> } }

const dashboard = JSON.parse(fs.readFileSync(path.join(repoRoot, 'deploy', 'grafana', 'xksgate-dashboard.json'), 'utf8')) as Dashboard
const queries = [
  ...dashboard.panels.flatMap(p => (p.targets ?? []).map(target => target.expr)),
  ...dashboard.templating.list.filter(v => v.name !== 'datasource').map(v => typeof v.query === 'string' ? v.query : v.query.query),
]

t.test('every metric the dashboard queries is registered by a serving process', async t => {
  const used = [...new Set(queries.flatMap(promqlMetricNames))]
  t.ok(used.length >= 20, `the queries name ${used.length} metrics`)
  t.same(unknownMetrics(queries), [], 'metrics the dashboard queries that xksgate does not expose')
})

t.test('the name extraction sees through functions, matchers, grouping and variables', async t => {
  t.same(promqlMetricNames('histogram_quantile(0.99, sum by (le, operation) (rate(a_bucket{job=~"$job", x="b{c}"}[$__rate_interval]))) / on (job) b_total offset 5m'),
    ['a_bucket', 'b_total'])
  t.same(unknownMetrics(['sum(rate(xksgate_no_such_metric_total[5m])) / xksgate_ready', 'xksgate_request_duration_seconds_bucket']), ['xksgate_no_such_metric_total'])
})

t.test('the panels the operator guide promises, laid out without overlap', async t => {
  const titles = dashboard.panels.map(p => p.title).join('\n')
  for (const wanted of [/requests by operation and status/i, /latency p50 \/ p99/i, /^retryable errors/im, /^non-retryable errors/im, /HSM operation latency/,
    /queue.*sessions/i, /Redis/, /certificate days/i, /external key manager/i, /fleet size/i, /HSM backend state/, /sessions open per backend/,
    /failovers/i, /credential age/i, /audit records dropped/i]) t.match(titles, wanted)
  const cells = new Map<string, string>()
  const overlaps: string[] = []
  for (const p of dashboard.panels) {
    t.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`)
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        const other = cells.get(`${x},${y}`)
        if (other !== undefined) overlaps.push(`${p.title} / ${other}`)
        cells.set(`${x},${y}`, p.title)
      }
    }
  }
  t.same([...new Set(overlaps)], [], 'panels that overlap')
})
