/**
 * Continuous signed load for reload tests: `loops` keep-alive clients, each sending signed Encrypt requests back to
 * back with one credential, and an exact count of what came back: 200s, and every other status or socket error.
 */
import { fixedEncrypt } from './cluster'
import type { Connection } from './dev-server'
import { XksClient } from './xks-client'

export interface Credential { accessKeyId: string, secretAccessKey: string }

export interface LoadCounts {
  ok: number
  failed: number
  /** The first few failures, for the assertion message. */
  errors: string[]
}

export interface SignedLoad {
  counts: LoadCounts
  /** Stops every loop after its request in progress and resolves once all have stopped. */
  stop: () => Promise<LoadCounts>
}

export function signedLoad (connection: Connection, credential: Credential, loops = 4): SignedLoad {
  const counts: LoadCounts = { ok: 0, failed: 0, errors: [] }
  const stopped = new AbortController()
  const fail = (what: string): void => {
    counts.failed++
    if (counts.errors.length < 5) counts.errors.push(what)
  }
  const running = Array.from({ length: loops }, async () => {
    const client = new XksClient(connection, 1)
    while (!stopped.signal.aborted) {
      try {
        const res = await client.send({ ...fixedEncrypt(connection), ...credential })
        if (res.status === 200) counts.ok++
        else fail(`${res.status} ${res.body}`)
      } catch (err) {
        fail((err as Error).message)
      }
    }
    client.close()
  })
  return {
    counts,
    stop: async () => {
      stopped.abort()
      await Promise.all(running)
      return counts
    },
  }
}
