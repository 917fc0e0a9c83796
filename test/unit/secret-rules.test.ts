/**
 * Issue #17, item 1: a secret file that resolved to '' passed, while {"env"} refused ''; the SigV4 pattern and the
 * audit key's 32-character minimum were then skipped. Every secret field, from every source, now meets the same
 * rules: not empty, not only white space, then its kind's own rule.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ConfigError, validateConfig } from '../../src/config/load'
import { FIXTURE_SECRET, configFixture } from '../helpers/config-fixture'

const f = configFixture()
t.teardown(f.cleanup)
const AUDIT_KEY = 'k'.repeat(32)

/** The four kinds of secret the configuration has, each set through `ref`. */
const FIELDS: Array<[string, (c: Record<string, any>, ref: unknown) => void]> = [
  ['/hsm/pin', (c, ref) => { c.hsm = { ...c.hsm, pin: ref } }],
  ['/keyStores/0/credentials/0/secretAccessKey', (c, ref) => { c.keyStores = [{ ...c.keyStores[0], credentials: [{ ...c.keyStores[0].credentials[0], secretAccessKey: ref }] }] }],
  ['/redis/password', (c, ref) => { c.redis = { url: 'redis://127.0.0.1:6379', password: ref } }],
  ['/audit/key', (c, ref) => { c.audit = { file: 'audit.jsonl', key: ref } }],
]

function problemsWith (set: (c: Record<string, any>, ref: unknown) => void, ref: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  const config = JSON.parse(JSON.stringify(f.config))
  set(config, ref)
  try {
    validateConfig(config, { baseDir: f.dir, env: { ...f.env, ...env } })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

const write = (name: string, content: string): string => {
  fs.writeFileSync(path.join(f.dir, name), content, { mode: 0o600 })
  return name
}

t.test('an empty or white-space secret is refused from every source, naming the field and the source', async t => {
  const file = (name: string): string => path.join(f.dir, name)
  const sources: Array<[string, unknown, NodeJS.ProcessEnv, string]> = [
    ['an empty file', { file: write('empty', '') }, {}, `${file('empty')} is empty`],
    ['a file holding only a newline', { file: write('newline', '\n') }, {}, `${file('newline')} is empty`],
    ['a file holding only CRLF', { file: write('crlf', '\r\n') }, {}, `${file('crlf')} is empty`],
    ['a file of blanks', { file: write('blanks', ' \t \n') }, {}, `${file('blanks')} holds only white space`],
    ['a variable set to \'\'', { env: 'EMPTY_SECRET' }, { EMPTY_SECRET: '' }, 'environment variable EMPTY_SECRET is empty'],
    ['a variable of blanks', { env: 'BLANK_SECRET' }, { BLANK_SECRET: '   ' }, 'environment variable BLANK_SECRET holds only white space'],
    ['an inline value of blanks', '    ', {}, 'the inline value holds only white space'],
  ]
  for (const [field, set] of FIELDS) {
    for (const [source, ref, env, message] of sources) {
      t.same(problemsWith(set, ref, env), [`${field}: ${message}`], `${field}: ${source}`)
    }
  }
})

t.test('each kind keeps its own rule whatever the source', async t => {
  const [, sigv4] = FIELDS[1]
  const [, audit] = FIELDS[3]
  const shortKey = write('short-key', 'x'.repeat(31) + '\n')
  t.same(problemsWith(audit, { file: shortKey }), ['/audit/key: must be at least 32 characters (has 31)'], 'audit key from a file')
  t.same(problemsWith(audit, { env: 'K' }, { K: 'x'.repeat(31) }), ['/audit/key: must be at least 32 characters (has 31)'], 'audit key from a variable')
  t.same(problemsWith(audit, { file: write('audit-key', AUDIT_KEY + '\n') }), [], 'a 32-character key from a file')
  t.same(problemsWith(sigv4, { file: write('bad-sigv4', 'not a sigv4 secret\n') }), ['/keyStores/0/credentials/0/secretAccessKey: must be 43 to 64 characters of A-Z a-z 0-9 / + ='])
  t.same(problemsWith(sigv4, { env: 'S' }, { S: FIXTURE_SECRET }), [], 'a valid secret from a variable')
  const messages = problemsWith(sigv4, { file: write('leaky', 'do-not-print-me\n') }).join('\n')
  t.notMatch(messages, /do-not-print-me/, 'the value is never in a message')
})

t.test('a secret file must be a regular file: a directory, a FIFO and a device are refused without a read', async t => {
  const [field, set] = FIELDS[0]
  fs.mkdirSync(path.join(f.dir, 'a-directory'))
  t.same(problemsWith(set, { file: 'a-directory' }), [`${field}: cannot read ${path.join(f.dir, 'a-directory')}: not a regular file`])
  // A FIFO nobody writes to: a plain read would wait for a writer for ever.
  const fifo = path.join(f.dir, 'a-fifo')
  execFileSync('mkfifo', [fifo])
  t.same(problemsWith(set, { file: fifo }), [`${field}: cannot read ${fifo}: not a regular file`])
  // A device without an end: a plain read would never return.
  t.same(problemsWith(set, { file: '/dev/zero' }), [`${field}: cannot read /dev/zero: not a regular file`])
  t.same(problemsWith(set, { file: 'absent' }), [`${field}: cannot read ${path.join(f.dir, 'absent')}: ENOENT`])
  // Kubernetes mounts secrets as symbolic links to regular files.
  fs.symlinkSync(write('real-pin', '48151623\n'), path.join(f.dir, 'linked-pin'))
  t.same(problemsWith(set, { file: 'linked-pin' }), [], 'a symbolic link to a regular file')
})

t.test('the TLS key and certificate and the CA files are held to the same: a FIFO is refused, not waited on', async t => {
  const fifo = path.join(f.dir, 'tls-fifo')
  execFileSync('mkfifo', [fifo])
  const problems = (change: (c: Record<string, any>) => void): string[] => problemsWith(change, undefined)
  t.same(problems(c => { c.server = { ...c.server, tls: { ...c.server.tls, keyFile: 'tls-fifo' } } }), [`/server/tls/keyFile: cannot read ${fifo}: not a regular file`])
  t.same(problems(c => { c.server = { ...c.server, tls: { ...c.server.tls, certFile: 'tls-fifo' } } }), [`/server/tls/certFile: cannot read ${fifo}: not a regular file`])
  t.same(problems(c => { c.redis = { url: 'rediss://127.0.0.1:6379', tls: { caFile: 'tls-fifo' } } }), [`/redis/tls/caFile: cannot read ${fifo}: not a regular file`])
  t.same(problems(c => { c.server = { ...c.server, frontend: 'node', tls: { ...c.server.tls, clientAuth: { caFiles: ['tls-fifo'] } } } }),
    [`/server/tls/clientAuth/caFiles/0: cannot read ${fifo}: not a regular file`])
})
