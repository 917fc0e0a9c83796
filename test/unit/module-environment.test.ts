/**
 * `hsm[].environment` (src/hsm/module-environment.ts): the schema's bounds, the one-environment-per-process rule
 * across backends, and how the variables reach an environment.
 */
import t from 'tap'
import { ConfigError, validateConfig } from '../../src/config/load'
import { applyModuleEnvironment } from '../../src/hsm/module-environment'
import { configFixture } from '../helpers/config-fixture'

const env = { TEST_PIN: '1234' }
const f = configFixture()
t.teardown(f.cleanup)

function problemsWith (hsm: unknown): string[] {
  try {
    validateConfig({ ...f.config, hsm }, { baseDir: f.dir, env })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

const backend = (tokenLabel: string, environment: unknown): Record<string, unknown> => ({ tokenLabel, pin: { env: 'TEST_PIN' }, environment })

t.test('names must be what a shell exports, values strings without NUL, within bounds', async t => {
  t.same(problemsWith(backend('a', { SOFTHSM2_CONF: '/x/softhsm2.conf', _lower_ok1: '', ChrystokiConfigurationPath: '/etc' })), [])
  t.same(problemsWith(backend('a', { '1ABC': '/x' })), ['/hsm/environment/1ABC: Unexpected property'])
  t.same(problemsWith(backend('a', { 'A-B': '/x' })), ['/hsm/environment/A-B: Unexpected property'])
  t.same(problemsWith(backend('a', { 'A=B': '/x' })), ['/hsm/environment/A=B: Unexpected property'])
  t.same(problemsWith(backend('a', { '': '/x' })), ['/hsm/environment/: Unexpected property'])
  t.same(problemsWith(backend('a', { ['A'.repeat(129)]: '/x' })), [`/hsm/environment/${'A'.repeat(129)}: Unexpected property`])
  t.same(problemsWith(backend('a', { A: 3 })), ['/hsm/environment/A: Expected string'])
  t.match(problemsWith(backend('a', { A: 'a\u0000b' })), [/^\/hsm\/environment\/A: Expected string to match/])
  t.match(problemsWith(backend('a', { A: 'x'.repeat(4097) })), [/^\/hsm\/environment\/A: Expected string length less or equal to 4096/])
  t.match(problemsWith(backend('a', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`V${i}`, 'x'])))), [/^\/hsm\/environment: Expected object to have no more than 32 properties/])
  t.match(problemsWith(backend('a', '/x')), [/^\/hsm\/environment: Expected object/])
  t.match(problemsWith([backend('a', {}), backend('b', { 'NO SPACE': 'x' })]), ['/hsm/1/environment/NO SPACE: Unexpected property'])
})

t.test('backends that set one variable must agree on it: the process has one environment', async t => {
  t.same(problemsWith([backend('a', { SOFTHSM2_CONF: '/same', A: '1' }), backend('b', { SOFTHSM2_CONF: '/same', B: '2' })]), [], 'the same value, or other variables')
  t.same(problemsWith([backend('a', { SOFTHSM2_CONF: '/one' }), backend('b', {}), backend('c', { SOFTHSM2_CONF: '/two' })]), [
    '/hsm/2/environment/SOFTHSM2_CONF: differs from /hsm/0/environment/SOFTHSM2_CONF; a process has one environment, so backends that set the same variable must set it to the same value',
  ])
  const problems = problemsWith([backend('a', { V: '1' }), backend('b', { V: '2' }), backend('c', { V: '3' })])
  t.same(problems.map(p => p.split(':')[0]), ['/hsm/1/environment/V', '/hsm/2/environment/V'], 'each later field named, against the first')
  t.notMatch(problems.join('\n'), /"?[123]"?;/, 'the values are not repeated in the message')
})

t.test('applyModuleEnvironment sets every variable; the configuration wins and what it replaced is named', async t => {
  const target: NodeJS.ProcessEnv = { KEPT: 'k', SAME: 's', OLD: 'before' }
  const overridden = applyModuleEnvironment([
    { field: '/hsm/0', environment: { SAME: 's', OLD: 'after', NEW: 'n' } },
    { field: '/hsm/1' },
    { field: '/hsm/2', environment: { NEW: 'n', OLD: 'after' } },
  ], target)
  t.same(target, { KEPT: 'k', SAME: 's', OLD: 'after', NEW: 'n' })
  t.same(overridden, [{ name: 'OLD', field: '/hsm/0/environment/OLD' }], 'once, by name and field, never the value')
  t.same(applyModuleEnvironment([{ field: '/hsm/0', environment: { OLD: 'after' } }], target), [], 'applying again changes nothing')
})

t.test('a validated configuration\'s environment reaches process.env, where a module\'s C_Initialize reads it', async t => {
  const name = `XKSGATE_TEST_MODULE_ENV_${process.pid}`
  t.teardown(() => { Reflect.deleteProperty(process.env, name) })
  const config = validateConfig({ ...f.config, hsm: backend('a', { [name]: '/opt/vendor/conf' }) }, { baseDir: f.dir, env })
  t.same(applyModuleEnvironment(config.hsm), [])
  t.equal(process.env[name], '/opt/vendor/conf')
})
