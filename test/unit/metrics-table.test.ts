/**
 * The metrics table of docs/observability.md against the code it describes: it lists exactly the metrics a serving
 * process registers. A failure lists the names missing from the page and the names it has that the code does not.
 * (The configuration reference is generated from the schema: test/unit/docs-generated.test.ts.)
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/paths'
import { registeredMetrics } from '../helpers/registered-metrics'

const page = fs.readFileSync(path.join(repoRoot, 'docs/observability.md'), 'utf8')

/** The rows of the first table under the heading `heading` (exact text, any level), as arrays of cells. */
function tableRows (heading: string): string[][] {
  const lines = page.split('\n')
  const start = lines.findIndex(l => /^#+ /.test(l) && l.replace(/^#+ /, '') === heading)
  if (start === -1) throw new Error(`docs/observability.md has no heading "${heading}"`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 1)) {
    if (/^#+ /.test(line)) break
    if (line.startsWith('|')) rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map(cell => cell.trim()))
    else if (rows.length > 0) break
  }
  // Header row and the |---| separator.
  return rows.slice(2)
}

/** The names in a first cell such as "`a_total` / `b_total`". */
const cellNames = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map(m => m[1])

t.test('the "Metrics" table of docs/observability.md lists exactly the metrics a serving process registers', async t => {
  // prom-client's default process_* and nodejs_* metrics are one row with wildcards.
  const registered = registeredMetrics().map(m => m.name).filter(name => !/^(process|nodejs)_/.test(name))
  const documented = tableRows('Metrics').flatMap(row => cellNames(row[0])).filter(name => !name.includes('*'))
  t.ok(registered.length > 0, 'metrics registered')
  const missing = registered.filter(name => !documented.includes(name)).sort()
  const extra = documented.filter(name => !registered.includes(name)).sort()
  t.same({ missing, extra }, { missing: [], extra: [] },
    `missing from docs/observability.md: ${missing.join(', ') || 'none'}; in the page but not in the code: ${extra.join(', ') || 'none'}`)
  const once = documented.filter((name, i) => documented.indexOf(name) !== i)
  t.same(once, [], 'each metric is documented once')
})
