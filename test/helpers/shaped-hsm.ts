/**
 * An HSM that behaves like one across a network, for tests and the bench: the PKCS#11 module in shaped-hsm.cc
 * forwards to SoftHSM and adds latency and jitter, a capacity (concurrent operations) and a session limit, and
 * faults on demand. `createShapedHsm` gives a copy of the library of its own (so two in one process shape apart)
 * and a `ShapedControl` that changes the shaping of every process using it while they run. See docs/shaped-hsm.md.
 */
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot } from './paths'

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so'

/** The control region's words, as in shaped-hsm.cc. */
const W = {
  magic: 0, latencyUs: 1, jitterUs: 2, jitterKind: 3, maxOps: 4, capMode: 5, maxSessions: 6, fault: 7,
  faultPpm: 8, faultRemaining: 9, gcmUnsupported: 10, generation: 11, callLatencyUs: 12, serviceUs: 13,
  inFlight: 16, maxInFlight: 17, ops: 18, faults: 19, sessions: 20, sessionsRefused: 21, staleCalls: 22,
  busyRefused: 23, hanging: 24, asked: 25, maxAsked: 26,
} as const
const WORDS = 64
const MAGIC = 0x31504853
const JITTER_KINDS = ['uniform', 'exponential'] as const
const CAP_MODES = ['queue', 'refuse'] as const
const FAULTS = ['none', 'function-failed', 'device-error', 'hang'] as const

export interface Shaping {
  /** The round trip added to each cryptographic operation (one sleep before it). */
  latencyMs?: number
  /** Added to latencyMs per operation: uniform in [0, jitterMs], or exponential with mean jitterMs (cut at 50x). */
  jitterMs?: number
  jitter?: typeof JITTER_KINDS[number]
  /** The appliance's capacity: operations at once across every process using the control file; 0: unlimited. */
  maxOps?: number
  /** Beyond maxOps: wait for a slot ('queue'), or answer CKR_FUNCTION_FAILED at once as a busy CloudHSM ('refuse'). */
  capMode?: typeof CAP_MODES[number]
  /** How long an operation holds its capacity slot (the appliance's own work), on top of SoftHSM's. */
  serviceMs?: number
  /** Open sessions allowed; C_OpenSession beyond it answers CKR_SESSION_COUNT. 0: unlimited. */
  maxSessions?: number
  /** Latency of the other session calls (C_OpenSession, C_Login, C_FindObjects*, C_GetAttributeValue, *Init). */
  callLatencyMs?: number
  /** Refuse AES-GCM: C_EncryptInit/C_DecryptInit/C_GetMechanismInfo answer CKR_MECHANISM_INVALID. */
  gcmUnsupported?: boolean
}

export type FaultKind = typeof FAULTS[number]

export interface FaultOptions {
  /** The share of operations that get it, 0 to 1 (default 1). Not for 'hang', which holds every operation. */
  probability?: number
  /** At most this many (default: no limit). */
  count?: number
}

export interface ShapedCounters {
  inFlight: number
  maxInFlight: number
  ops: number
  faults: number
  sessions: number
  sessionsRefused: number
  staleCalls: number
  busyRefused: number
  hanging: number
  generation: number
  /**
   * Operations the clients have outstanding at the HSM now (from arrival, before the round trip, to the answer),
   * inside the capacity, waiting for it or refused: what the clients send at once. `inFlight` never passes maxOps.
   */
  asked: number
  maxAsked: number
}

/** Compiles shaped-hsm.cc once per source version into a cache directory; returns the library's path. */
export function buildShapedModule (): string {
  const source = path.join(repoRoot, 'test', 'helpers', 'shaped-hsm.cc')
  const text = fs.readFileSync(source)
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16)
  const dir = path.join(os.tmpdir(), `xksgate-shaped-hsm-${process.getuid?.() ?? 0}`)
  const library = path.join(dir, `libshaped-${hash}.so`)
  if (fs.existsSync(library)) return library
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  // Built under a unique name and renamed, so that test files building at once never load a half-written file.
  const partial = `${library}.${process.pid}.${Date.now()}`
  execFileSync('g++', ['-O2', '-shared', '-fPIC', '-fvisibility=hidden',
    '-I', path.join(repoRoot, 'node_modules', 'pkcs11js', 'includes'), '-o', partial, source, '-ldl', '-lpthread', '-lm'],
  { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 })
  fs.renameSync(partial, library)
  return library
}

export interface ShapedHsm {
  /** The PKCS#11 module to configure (a copy of the library of this instance's own). */
  modulePath: string
  control: ShapedControl
}

/**
 * A shaped HSM in `dir` forwarding to `target` (SoftHSM by default; SoftHSM still finds its tokens through
 * SOFTHSM2_CONF). Every process that loads `modulePath` shares the control file, its capacity and its counters.
 */
export function createShapedHsm (dir: string, shaping: Shaping = {}, target = SOFTHSM_MODULE): ShapedHsm {
  fs.mkdirSync(dir, { recursive: true })
  const modulePath = path.join(dir, 'libshaped.so')
  const controlPath = path.join(dir, 'shaped.control')
  fs.copyFileSync(buildShapedModule(), modulePath)
  fs.writeFileSync(`${modulePath}.conf`, `target=${target}\ncontrol=${controlPath}\n`)
  const control = ShapedControl.create(controlPath)
  control.set(shaping)
  return { modulePath, control }
}

/** Changes the shaping of a running shaped HSM and reads its counters. Writes are single aligned 32-bit words. */
export class ShapedControl {
  private constructor (readonly path: string, private readonly fd: number) {}

  /** A fresh control file: no shaping, no fault. */
  static create (controlPath: string): ShapedControl {
    const words = new Uint32Array(WORDS)
    words[W.magic] = MAGIC
    words[W.faultPpm] = 1_000_000
    words[W.faultRemaining] = 0xFFFFFFFF
    fs.writeFileSync(controlPath, Buffer.from(words.buffer), { mode: 0o600 })
    return ShapedControl.open(controlPath)
  }

  static open (controlPath: string): ShapedControl {
    return new ShapedControl(controlPath, fs.openSync(controlPath, 'r+'))
  }

  set (s: Shaping): void {
    const us = (ms: number): number => Math.round(ms * 1000)
    if (s.latencyMs !== undefined) this.write(W.latencyUs, us(s.latencyMs))
    if (s.jitterMs !== undefined) this.write(W.jitterUs, us(s.jitterMs))
    if (s.jitter !== undefined) this.write(W.jitterKind, JITTER_KINDS.indexOf(s.jitter))
    if (s.maxOps !== undefined) this.write(W.maxOps, s.maxOps)
    if (s.capMode !== undefined) this.write(W.capMode, CAP_MODES.indexOf(s.capMode))
    if (s.serviceMs !== undefined) this.write(W.serviceUs, us(s.serviceMs))
    if (s.maxSessions !== undefined) this.write(W.maxSessions, s.maxSessions)
    if (s.callLatencyMs !== undefined) this.write(W.callLatencyUs, us(s.callLatencyMs))
    if (s.gcmUnsupported !== undefined) this.write(W.gcmUnsupported, s.gcmUnsupported ? 1 : 0)
  }

  /** From the next operation on, `kind` answers instead of the HSM ('none' clears it; clearing a hang releases it). */
  fault (kind: FaultKind, options: FaultOptions = {}): void {
    this.write(W.fault, FAULTS.indexOf('none'))
    this.write(W.faultPpm, Math.round((options.probability ?? 1) * 1_000_000))
    this.write(W.faultRemaining, options.count ?? 0xFFFFFFFF)
    this.write(W.fault, FAULTS.indexOf(kind))
  }

  /**
   * An HSM restart or HA failover: every session open now answers CKR_SESSION_HANDLE_INVALID on its next call,
   * and the login is forgotten (keyed calls answer CKR_USER_NOT_LOGGED_IN until a C_Login in a new session).
   */
  restart (): void {
    this.write(W.sessions, 0)
    this.write(W.generation, this.read(W.generation) + 1)
  }

  counters (): ShapedCounters {
    const buf = Buffer.alloc(WORDS * 4)
    fs.readSync(this.fd, buf, 0, buf.length, 0)
    const word = (i: number): number => buf.readUInt32LE(i * 4)
    return {
      inFlight: word(W.inFlight),
      maxInFlight: word(W.maxInFlight),
      ops: word(W.ops),
      faults: word(W.faults),
      sessions: word(W.sessions),
      sessionsRefused: word(W.sessionsRefused),
      staleCalls: word(W.staleCalls),
      busyRefused: word(W.busyRefused),
      hanging: word(W.hanging),
      generation: word(W.generation),
      asked: word(W.asked),
      maxAsked: word(W.maxAsked),
    }
  }

  /** Zeroes the high-water marks and the event counters (not inFlight, asked or sessions, which are live state). */
  resetCounters (): void {
    for (const w of [W.maxInFlight, W.maxAsked, W.ops, W.faults, W.sessionsRefused, W.staleCalls, W.busyRefused]) this.write(w, 0)
  }

  close (): void {
    fs.closeSync(this.fd)
  }

  private read (index: number): number {
    const buf = Buffer.alloc(4)
    fs.readSync(this.fd, buf, 0, 4, index * 4)
    return buf.readUInt32LE(0)
  }

  private write (index: number, value: number): void {
    const buf = Buffer.alloc(4)
    buf.writeUInt32LE(value >>> 0, 0)
    fs.writeSync(this.fd, buf, 0, 4, index * 4)
  }
}
