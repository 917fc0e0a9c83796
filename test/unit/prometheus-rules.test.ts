/**
 * The Prometheus files in deploy/prometheus, checked by Prometheus' own promtool (Debian package `prometheus`,
 * installed by `npm test`'s bootstrap and by .ci/run): the rules parse, their unit tests pass, the scrape
 * configurations are valid, and every metric the rules select is one a serving process registers.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/paths'
import { unknownMetrics } from '../helpers/registered-metrics'

const dir = path.join(repoRoot, 'deploy', 'prometheus')

function promtool (...args: string[]): { status: number | null, output: string } {
  const result = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 30_000 })
  if (result.error !== undefined) throw new Error(`promtool: ${result.error.message} (apt-get install prometheus; npm test installs it as root)`)
  return { status: result.status, output: result.stdout + result.stderr }
}

/** The `expr:` values of a rules file: one line, or a `|` block indented below it. */
function ruleExpressions (file: string): string[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const exprs: string[] = []
  lines.forEach((line, i) => {
    const m = /^(\s*)expr: (.*)$/.exec(line)
    if (m === null) return
    if (m[2] !== '|') {
      exprs.push(m[2])
      return
    }
    const block: string[] = []
    for (let j = i + 1; j < lines.length && (lines[j].trim() === '' || lines[j].search(/\S/) > m[1].length); j++) block.push(lines[j])
    exprs.push(block.join('\n'))
  })
  return exprs
}

t.test('promtool check rules, and the rules\' own unit tests', async t => {
  const check = promtool('check', 'rules', 'alerts.yml')
  t.equal(check.status, 0, check.output)
  t.match(check.output, /SUCCESS: \d+ rules found/)
  const test = promtool('test', 'rules', 'alerts.test.yml')
  t.equal(test.status, 0, test.output)
})

t.test('promtool check config: the cluster and the PM2 scrape configurations', async t => {
  for (const file of ['prometheus-cluster.yml', 'prometheus-pm2.yml']) {
    const check = promtool('check', 'config', file)
    t.equal(check.status, 0, `${file}: ${check.output}`)
  }
})

t.test('every metric an alert selects is registered by a serving process', async t => {
  const exprs = ruleExpressions(path.join(dir, 'alerts.yml'))
  t.ok(exprs.length >= 18, `${exprs.length} rule expressions`)
  t.ok(exprs.some(e => e.includes('\n')), 'multi-line expressions are read whole')
  // `up` is the scrape's own series, not the proxy's.
  t.same(unknownMetrics(exprs, ['up']), [], 'metrics the alerts select that xksgate does not expose')
})
