/**
 * Every configuration field, metric, CLI command and error name is defined exactly once in the documentation,
 * where the generators and the checked tables put it (issue #20): configuration.md's rows, cli.md's headings,
 * observability.md's "Metrics" table, troubleshooting.md's error headings. A definition is a heading naming the
 * item or a table row whose first cell names it; a mention in prose or a later cell is a reference, and welcome.
 * A second definition elsewhere would drift from the code the first one is checked against.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { COMMANDS } from '../../src/cli/commands'
import { configFields } from '../../src/docs/config-reference'
import { XKS_ERRORS } from '../../src/xks/errors'
import { repoRoot } from '../helpers/paths'
import { registeredMetrics } from '../helpers/registered-metrics'

/** Every tracked Markdown page but the changelog, which records history rather than defining anything. */
const pages = execFileSync('git', ['ls-files', '*.md'], { cwd: repoRoot, encoding: 'utf8' }).split('\n')
  .filter(file => file !== '' && file !== 'CHANGELOG.md')

interface Definition { name: string, where: string }

/** Headings and the names in tables' first cells (backticks dropped; a first cell may name several, `a` / `b`). */
function definitions (): Definition[] {
  const found: Definition[] = []
  for (const file of pages) {
    let fence = false
    fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n').forEach((line, i) => {
      if (line.startsWith('```')) fence = !fence
      if (fence) return
      const where = `${file}:${i + 1}`
      const heading = /^#{1,6} (.+)$/.exec(line)
      if (heading !== null) found.push({ name: heading[1].replace(/`/g, '').trim(), where })
      // A first cell of code names alone, as the generators and the metrics table write them ("`a`", "`a` / `b`",
      // "`a` (max)"); one that names a field within prose ("strict mTLS (`server.tls.clientAuth`)") is a reference.
      const cell = /^\|((?:\s*`[^`]+`(?:\s*\([a-z ]+\))?\s*\/?)+)\|/.exec(line)
      if (cell !== null) for (const m of cell[1].matchAll(/`([^`]+)`/g)) found.push({ name: m[1], where })
    })
  }
  return found
}

const all = definitions()

/** Where each of `names` is defined: exactly once each, in `page`. */
function checkOnce (t: Test, kind: string, names: string[], page: string, definitions = all): void {
  t.ok(names.length > 0, `${kind}: some to check`)
  const wrong: Record<string, string[]> = {}
  for (const name of names) {
    const places = definitions.filter(d => d.name === name).map(d => d.where)
    if (places.length !== 1 || !places[0].startsWith(page + ':')) wrong[name] = places
  }
  t.same(wrong, {}, `each ${kind} defined once, in ${page} (name: where it is defined)`)
}

t.test('every configuration field: one row of docs/configuration.md', async t => {
  checkOnce(t, 'configuration field', configFields().map(f => f.path), 'docs/configuration.md')
})

t.test('every metric: one row of the "Metrics" table of docs/observability.md', async t => {
  const names = registeredMetrics().map(m => m.name).filter(name => !/^(process|nodejs)_/.test(name))
  checkOnce(t, 'metric', names, 'docs/observability.md')
})

t.test('every CLI command and subcommand: one heading of docs/cli.md', async t => {
  const headings = all.filter(d => d.where.startsWith('docs/cli.md:') && d.name.startsWith('xksgate ')).map(d => d.name)
  t.same(COMMANDS.map(c => `xksgate ${c.name}`).filter(name => !headings.includes(name)), [], 'every command has its heading')
  // A definition written with its arguments ("`xksgate keys create ID [--usage …]`") defines the longest command
  // it starts with.
  const byLength = [...headings].sort((a, b) => b.length - a.length)
  const commandOf = (name: string): string => byLength.find(h => name === h || name.startsWith(h + ' ')) ?? name
  checkOnce(t, 'command', headings, 'docs/cli.md', all.map(d => ({ ...d, name: commandOf(d.name) })))
})

t.test('every error name the proxy answers: one heading of docs/troubleshooting.md', async t => {
  checkOnce(t, 'error name', Object.keys(XKS_ERRORS), 'docs/troubleshooting.md')
})
