/**
 * Continuous signed load for reload tests: `loops` keep-alive clients, each sending signed Encrypt requests with
 * one credential, at most `perLoopPerSecond` each (a steady load like KMS's, which leaves the processes being
 * started some CPU on a 2-core host), and an exact count of what came back: 200s, and every other status or
 * socket error.
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

export function signedLoad (connection: Connection, credential: Credential, loops = 4, perLoopPerSecond = 50): SignedLoad {
  const counts: LoadCounts = { ok: 0, failed: 0, errors: [] }
  const stopped = new AbortController()
  const fail = (what: string): void => {
    counts.failed++
    if (counts.errors.length < 5) counts.errors.push(what)
  }
  const running = Array.from({ length: loops }, async () => {
    const client = new XksClient(connection, 1)
    let next = Date.now()
    while (!stopped.signal.aborted) {
      next += 1000 / perLoopPerSecond
      const wait = next - Date.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
      else next = Date.now()
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
