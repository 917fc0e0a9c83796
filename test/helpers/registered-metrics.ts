/**
 * The metrics a serving process registers, from the real ProcessMetrics registry: what the docs/observability.md table, the
 * Grafana dashboard and the alert rules are checked against.
 */
import { ProcessMetrics, type MetricSources } from '../../src/metrics/process-metrics'

/** Everything attach() needs to register its gauges; listing names reads none of it (only a scrape would). */
const unreadSources = new Proxy({ redisConfigured: true }, {
  get: (target, name) => name in target ? target[name as keyof typeof target] : () => { throw new Error(`metric source ${String(name)} read`) },
}) as unknown as MetricSources

export interface RegisteredMetric { name: string, type: string }

export function registeredMetrics (): RegisteredMetric[] {
  const metrics = new ProcessMetrics()
  metrics.attach(unreadSources)
  metrics.buildInfo({ version: '0.0.0', commit: 'unknown', node: process.version, frontend: 'uws', uwsBuild: 'none' })
  return metrics.registry.getMetricsAsArray().map(m => ({ name: m.name, type: String(m.type) }))
}

/** Series names a histogram exposes besides its own name. */
const HISTOGRAM_SERIES = ['_bucket', '_sum', '_count']
/** PromQL words that look like names: aggregation modifiers, set operators, `bool`, `offset`. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset'])

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers, ranges, grouping
 * lists, Grafana variables and function calls are taken out (and the label argument of Grafana's
 * `label_values(selector, label)`). Enough for the project's own rules and dashboard.
 */
export function promqlMetricNames (expr: string): string[] {
  const bare = expr
    .replace(/^label_values\((.*),\s*\w+\s*\)$/s, '$1')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
  const names = [...bare.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)].map(m => m[1]).filter(name => !KEYWORDS.has(name))
  return [...new Set(names)]
}

/** Names used in `exprs` that the registry does not expose (a histogram exposes its _bucket, _sum, _count series). */
export function unknownMetrics (exprs: string[], alsoKnown: string[] = []): string[] {
  const exposed = new Set(alsoKnown)
  for (const m of registeredMetrics()) {
    exposed.add(m.name)
    if (m.type === 'histogram') for (const suffix of HISTOGRAM_SERIES) exposed.add(m.name + suffix)
  }
  return [...new Set(exprs.flatMap(promqlMetricNames))].filter(name => !exposed.has(name))
}
