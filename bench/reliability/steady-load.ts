import crypto from 'node:crypto'
import { Signer, type Credentials } from '../sign'
import { Connection } from '../loadgen/connection'
import { newHistogram } from '../loadgen/recorder'
import { schedule, DEFAULT_MIX, type Template } from '../loadgen/templates'
import { DateClock, IdSource, WireRequest } from '../loadgen/wire'
import { type Counts, Tally } from './counts'

/**
 * An open loop at a steady rate on the orchestrator's own thread that counts every request by outcome, with the
 * time each one ended, so that a fault's recovery time can be read off afterwards. The bench's loadgen (worker
 * threads, HDR merge) reports only totals; a fault scenario needs the timeline, and its rates (a few hundred
 * req/s) fit one thread. Request i is due at start + i / rate; one that finds no free connection waits for one,
 * so a server that stops answering shows as unanswered requests, never as a client that quietly slowed down.
 */

export interface SteadyLoadOptions {
  host?: string
  port: number
  /** The Host header (signed verbatim); 127.0.0.1:PORT by default. */
  hostHeader?: string
  creds: Credentials
  templates: Template[]
  rate: number
  durationMs: number
  connections: number
  /** How long a request may stay unanswered after the last one was due before it counts as unanswered. */
  drainMs?: number
}

export interface RunningLoad {
  /** ms since the run started (the origin of every time in the counts). */
  elapsed: () => number
  /** Requests answered so far, of any kind. */
  answered: () => number
  done: Promise<Counts>
}

interface Slot { conn: Connection, cursor: number, wire?: WireRequest, template: number }

export function startSteadyLoad (o: SteadyLoadOptions): RunningLoad {
  const host = o.host ?? '127.0.0.1'
  const hostHeader = o.hostHeader ?? `${host}:${o.port}`
  const signer = new Signer(o.creds)
  const ids = new IdSource(crypto.randomBytes(4).toString('hex'), 0)
  const clock = new DateClock()
  const order = schedule(o.templates, DEFAULT_MIX)
  const pools: WireRequest[][] = o.templates.map(() => [])
  const tally = new Tally(newHistogram())
  const t0 = performance.now()
  const elapsed = (): number => performance.now() - t0
  const interval = 1000 / o.rate
  const total = Math.floor(o.durationMs / interval)
  const slots: Slot[] = Array.from({ length: o.connections }, (_, i) =>
    ({ conn: new Connection({ host, port: o.port }), cursor: Math.floor(i * order.length / o.connections), template: 0 }))
  const free: Slot[] = []
  const waiting: number[] = []
  const inFlight = new Map<Slot, number>()
  let due = 0
  let finished = false

  const send = (slot: Slot, i: number): void => {
    const t = order[slot.cursor]
    slot.cursor = (slot.cursor + 1) % order.length
    slot.template = t
    slot.wire = pools[t].pop() ?? new WireRequest(o.templates[t], hostHeader, signer)
    inFlight.set(slot, i)
    slot.conn.send(slot.wire.prepare(ids.next(), clock.now(), hostHeader, signer), status => {
      pools[slot.template].push(slot.wire!)
      inFlight.delete(slot)
      if (!finished) tally.record(status, elapsed(), elapsed() - i * interval)
      whenUsable(slot)
    })
  }
  const pump = (): void => {
    while (waiting.length > 0 && free.length > 0) send(free.shift()!, waiting.shift()!)
  }
  // A connection the server closed reconnects by itself; one whose reconnect failed (no process listening yet)
  // is reopened here, for as long as the run lasts.
  const whenUsable = (slot: Slot): void => {
    if (finished) return
    if (slot.conn.available) { free.push(slot); pump(); return }
    if (slot.conn.state === 'dead') {
      slot.conn = new Connection({ host, port: o.port })
      slot.conn.open().catch(() => {})
    }
    setTimeout(() => whenUsable(slot), 10)
  }
  for (const slot of slots) { slot.conn.open().catch(() => {}); whenUsable(slot) }

  const done = new Promise<Counts>(resolve => {
    const tick = setInterval(() => {
      const now = elapsed()
      while (due < total && due * interval <= now) waiting.push(due++)
      pump()
      if (due < total) return
      if (inFlight.size > 0 || waiting.length > 0) {
        if (now < o.durationMs + (o.drainMs ?? 5000)) return
      }
      clearInterval(tick)
      finished = true
      // Still waiting for an answer, or never sent because no connection was usable: unanswered.
      for (let n = inFlight.size + waiting.length; n > 0; n--) tally.unanswered(now)
      slots.forEach(s => s.conn.close())
      resolve(tally.counts(total))
    }, 1)
  })
  return { elapsed, answered: () => tally.answered, done }
}
