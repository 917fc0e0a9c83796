/**
 * config/xksgate.example.json is what an operator starts from, so it must pass the configuration schema as
 * startup applies it (an `hsm` object as a list of one, defaults, then the check). Its certificate, secret and PIN references point at a
 * production host, so only the schema is checked here, not the files it names.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { listHsmBackends } from '../../src/config/load'
import { ConfigSchema } from '../../src/config/schema'
import { repoRoot } from '../helpers/paths'

const example = JSON.parse(fs.readFileSync(path.join(repoRoot, 'config', 'xksgate.example.json'), 'utf8')) as Record<string, unknown>

const asStartupSees = (config: unknown): unknown => Value.Default(ConfigSchema, listHsmBackends(structuredClone(config)).config)

function schemaProblems (config: unknown): string[] {
  const withDefaults = asStartupSees(config)
  return [...Value.Errors(ConfigSchema, withDefaults)].map(e => `${e.path || '/'}: ${e.message}`)
}

t.test('config/xksgate.example.json passes the configuration schema', async t => {
  t.same(schemaProblems(example), [], 'no field of the example is rejected')
  t.ok(Value.Check(ConfigSchema, asStartupSees(example)), 'Value.Check agrees')
})

t.test('the same check names a field the schema does not know', async t => {
  const misspelt = { ...example, server: { ...(example.server as object), maxInflight: 256 } }
  t.match(schemaProblems(misspelt), [/^\/server\/maxInflight: /], 'an unknown field is reported by its path')
})
