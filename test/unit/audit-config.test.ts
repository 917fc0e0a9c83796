import path from 'node:path'
import t from 'tap'
import { ConfigError, validateConfig } from '../../src/config/load'
import { configFixture } from '../helpers/config-fixture'

const f = configFixture()
t.teardown(f.cleanup)

const load = (audit: unknown): ReturnType<typeof validateConfig> | string[] => {
  try {
    return validateConfig({ ...f.config, audit }, { baseDir: f.dir, env: { ...f.env, AUDIT_KEY: 'short' } })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

t.test('audit: the file relative to the config, the key a secret reference of at least 32 characters, defaults', async t => {
  const loaded = load({ file: 'logs/audit.jsonl', key: 'x'.repeat(32) })
  if (Array.isArray(loaded)) { t.fail(loaded.join('\n')); return }
  t.equal(loaded.audit?.file, path.join(f.dir, 'logs/audit.jsonl'))
  t.equal(loaded.audit?.key.reveal(), 'x'.repeat(32))
  t.equal(JSON.stringify(loaded.audit?.key), '"[redacted]"')
  t.same([loaded.audit?.rotateBytes, loaded.audit?.maxBufferBytes], [67108864, 16777216])
  t.same(load({ file: 'a', key: { env: 'AUDIT_KEY' } }), ['/audit/key: must be at least 32 characters (has 5)'])
  t.same(load({ file: 'a', key: { env: 'NO_SUCH_VAR' } }), ['/audit/key: environment variable NO_SUCH_VAR is not set'])
  t.match(load({ file: 'a', key: 'x'.repeat(32), rotateBytes: 10 }), [/^\/audit\/rotateBytes: Expected integer to be greater or equal to 4096/])
  t.match(load({ key: 'x'.repeat(32) }), [/^\/audit\/file: Expected required property/])
  t.same([loaded.audit?.keepFiles, loaded.audit?.keepBytes], [undefined, undefined], 'rotated files are kept unless told otherwise')
  const kept = load({ file: 'a', key: 'x'.repeat(32), keepFiles: 30, keepBytes: 1 << 30 })
  t.same(Array.isArray(kept) ? kept : [kept.audit?.keepFiles, kept.audit?.keepBytes], [30, 1 << 30])
  t.match(load({ file: 'a', key: 'x'.repeat(32), keepFiles: 0 }), [/^\/audit\/keepFiles: Expected integer to be greater or equal to 1/])
})
