/**
 * The README's reference tables against the code they describe: the "Metrics" table lists exactly the metrics a
 * serving process registers, and the "Configuration reference" table names every leaf field of ConfigSchema and
 * nothing else. A failure lists the names missing from the README and the names it has that the code does not.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { Kind, type TSchema } from '@sinclair/typebox'
import { ConfigSchema } from '../../src/config/schema'
import { repoRoot } from '../helpers/paths'
import { registeredMetrics } from '../helpers/registered-metrics'

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')

/** The rows of the first table under the heading `heading` (exact text, any level), as arrays of cells. */
function tableRows (heading: string): string[][] {
  const lines = readme.split('\n')
  const start = lines.findIndex(l => /^#+ /.test(l) && l.replace(/^#+ /, '') === heading)
  if (start === -1) throw new Error(`README has no heading "${heading}"`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 1)) {
    if (/^#+ /.test(line)) break
    if (line.startsWith('|')) rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map(cell => cell.trim()))
    else if (rows.length > 0) break
  }
  // Header row and the |---| separator.
  return rows.slice(2)
}

/**
 * The names in a first cell such as "`server.tls.certFile` / `keyFile`": a name without a dot is a sibling of
 * the first name. `<…>` placeholders (a record's keys) read as `*`.
 */
function cellNames (cell: string): string[] {
  const names = [...cell.matchAll(/`([^`]+)`/g)].map(m => m[1].replace(/<[^>]+>/g, '*'))
  const first = names[0] ?? ''
  const parent = first.includes('.') ? first.slice(0, first.lastIndexOf('.') + 1) : ''
  return names.map((name, i) => i === 0 || name.includes('.') ? name : parent + name)
}

function compare (documented: string[], actual: string[]): { missing: string[], extra: string[] } {
  return {
    missing: actual.filter(name => !documented.includes(name)).sort(),
    extra: documented.filter(name => !actual.includes(name)).sort(),
  }
}

const report = (what: string, { missing, extra }: { missing: string[], extra: string[] }): string =>
  `${what}: missing from the README: ${missing.join(', ') || 'none'}; in the README but not in the code: ${extra.join(', ') || 'none'}`

/**
 * Leaf fields of a TypeBox schema as dotted paths: arrays of objects add `[]`, records add `.*`. A union is one
 * field whose value takes one of several forms (a secret reference, `redis.tls`), so it is a leaf too.
 */
function leafFields (schema: TSchema, prefix: string): string[] {
  switch (schema[Kind]) {
    case 'Object':
      return Object.entries(schema.properties as Record<string, TSchema>)
        .flatMap(([key, child]) => leafFields(child, prefix === '' ? key : `${prefix}.${key}`))
    case 'Array':
      return (schema.items as TSchema)[Kind] === 'Object' ? leafFields(schema.items as TSchema, prefix + '[]') : [prefix]
    case 'Record':
      return Object.values(schema.patternProperties as Record<string, TSchema>).flatMap(value => leafFields(value, prefix + '.*'))
    default:
      return [prefix]
  }
}

t.test('the README "Metrics" table lists exactly the metrics a serving process registers', async t => {
  // prom-client's default process_* and nodejs_* metrics are one README row with wildcards.
  const registered = registeredMetrics().map(m => m.name).filter(name => !/^(process|nodejs)_/.test(name))
  const documented = tableRows('Metrics').flatMap(row => cellNames(row[0])).filter(name => !name.includes('*'))
  t.ok(registered.length > 0, 'metrics registered')
  const drift = compare(documented, registered)
  t.same(drift, { missing: [], extra: [] }, report('README "Metrics" vs src/metrics/process-metrics.ts', drift))
})

t.test('the README "Configuration reference" table names every leaf field of ConfigSchema and nothing else', async t => {
  const fields = leafFields(ConfigSchema, '')
  const documented = tableRows('Configuration reference').flatMap(row => cellNames(row[0]))
  t.ok(fields.includes('keyStores[].keys.*.label'), 'arrays and records are walked into')
  const drift = compare(documented, fields)
  t.same(drift, { missing: [], extra: [] }, report('README "Configuration reference" vs src/config/schema.ts', drift))
})
