/**
 * What a behaviour test file sends that must never reach the proxy's log (docs/xks-spec.md §11): every plaintext
 * and every full Authorization header, recorded as they are sent. `testLogAfterStop` adds the file's closing
 * tests: a clean SIGTERM stop, then the log, complete once the proxy has exited, searched for each of them and
 * for the secret access key.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'
import { type Harness, randomB64 } from './conformance'
import type { SendOptions, XksResponse } from './xks-client'

export interface SentSecrets {
  readonly plaintexts: string[]
  readonly authorizations: string[]
  /** A random plaintext of `n` bytes, recorded. */
  plaintextOf: (n: number) => string
  /** Records the Authorization header a response says was sent, and returns the response. */
  record: (res: XksResponse) => XksResponse
  /** The harness's send, recorded. */
  send: (options: SendOptions) => Promise<XksResponse>
}

export function recordSecrets (h: Harness): SentSecrets {
  const plaintexts: string[] = []
  const authorizations: string[] = []
  const record = (res: XksResponse): XksResponse => {
    if (res.sentHeaders.Authorization !== undefined) authorizations.push(res.sentHeaders.Authorization)
    return res
  }
  return {
    plaintexts,
    authorizations,
    plaintextOf: n => {
      const plaintext = randomB64(n)
      plaintexts.push(plaintext)
      return plaintext
    },
    record,
    send: async options => record(await h.send(options)),
  }
}

/**
 * Stops the server with SIGTERM (exit code 0, connection.json removed), then checks its whole log. `plaintexts`
 * is how many plaintexts the file's tests send at least, so the search is known not to be empty.
 */
export function testLogAfterStop (t: Test, h: Harness, sent: SentSecrets, { plaintexts }: { plaintexts: number }): void {
  t.test('SIGTERM: exit code 0 and connection.json removed', async t => {
    const code = await h.server.stop()
    t.equal(code, 0, 'exit code 0')
    t.notOk(fs.existsSync(path.join(h.server.dir, 'connection.json')), 'connection.json removed')
  })

  t.test('the log never contains plaintext, the secret access key or an Authorization header', async t => {
    const log = h.server.output()
    t.ok(log.length > 0, 'the server logged something')
    if (plaintexts > 0) t.ok(sent.plaintexts.length >= plaintexts, `at least ${plaintexts} plaintexts to look for`)
    t.same(sent.plaintexts.filter(p => log.includes(p)), [], 'no plaintext in the log')
    t.notOk(log.includes(h.conn.secretAccessKey), 'no secret access key in the log')
    t.ok(sent.authorizations.length > 0, 'Authorization headers to look for')
    t.same(sent.authorizations.filter(a => log.includes(a)), [], 'no full Authorization header in the log')
  })
}
