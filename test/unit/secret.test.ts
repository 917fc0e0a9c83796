import util from 'node:util'
import type pino from 'pino'
import t from 'tap'
import { validateConfig } from '../../src/config/load'
import { Secret } from '../../src/config/secret'
import { createLogger } from '../../src/log'
import { FIXTURE_PIN, FIXTURE_SECRET, configFixture } from '../helpers/config-fixture'

const VALUE = 'hunter2-do-not-print'

t.test('a Secret prints as [redacted] every way it can be printed, and reveal() gives the value', async t => {
  const secret = new Secret(VALUE)
  t.equal(secret.reveal(), VALUE)
  const nested = { a: { b: [{ secret }] } }
  const printed = [
    JSON.stringify(secret),
    JSON.stringify(nested),
    String(secret),
    `${secret}`,
    'x' + secret,
    util.inspect(secret),
    util.inspect(nested, { depth: null, showHidden: true }),
    util.format('%s %o %O %j', secret, nested, nested, nested),
    JSON.stringify({ ...secret }),
    JSON.stringify(Object.entries(secret)),
    util.inspect(structuredClone(nested), { depth: null, showHidden: true }),
  ]
  for (const text of printed) t.notMatch(text, VALUE, text)
  t.equal(JSON.stringify(nested), '{"a":{"b":[{"secret":"[redacted]"}]}}')
  t.equal(util.inspect(secret), '[redacted]')
})

t.test('a whole resolved configuration logged through the real logger shows no secret', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  const redisPassword = 'redis-password-do-not-print'
  const second = 'S3c0ndSecretForRotationOnlyXXXXXXXXXXXXXXXX'
  f.config.keyStores[0].credentials.push({ accessKeyId: 'BKIAI2SFODNN7EXAMPLE', secretAccessKey: second })
  f.config.redis = { url: 'redis://127.0.0.1:1', password: { env: 'REDIS_PW' } }
  const config = validateConfig(f.config, { baseDir: f.dir, env: { ...f.env, REDIS_PW: redisPassword } })
  t.equal(config.keyStores[0].credentials[1].secretAccessKey.reveal(), second, 'the secrets really are in the config')

  const lines: string[] = []
  const destination: pino.DestinationStream = { write: (line: string) => { lines.push(line) } }
  const log = createLogger({ level: 'trace', destination })
  log.info({ config }, 'the whole config')
  log.info({ wrapped: { deeper: [config.keyStores, config.redis, config.hsm] } }, 'pieces of it, nested')
  log.error({ err: Object.assign(new Error('startup failed'), { config }) }, 'an error carrying it')
  log.info(config, 'the config as the merge object')
  log.info('formatted: %s %o %j', config.hsm[0].pin, config, config)

  t.equal(lines.length, 5)
  const output = lines.join('')
  for (const secret of [FIXTURE_PIN, FIXTURE_SECRET, second, redisPassword]) t.notMatch(output, secret, 'no secret in the log')
  const first = JSON.parse(lines[0])
  t.equal(first.config.hsm[0].pin, '[redacted]', 'the PIN is shown as redacted')
  t.equal(first.config.keyStores[0].credentials[0].secretAccessKey, '[redacted]')
  t.equal(first.config.redis.password, '[redacted]')
  t.equal(first.config.keyStores[0].credentials[0].accessKeyId, 'AKIAI2SFODNN7EXAMPLE', 'non-secret fields are kept')
})
