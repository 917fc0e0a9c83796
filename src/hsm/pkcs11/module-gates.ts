/**
 * One InitGate per PKCS#11 module per process, however many pools load it.
 *
 * Why: the Cryptoki state belongs to the loaded library, not to a pool. Two backends on one `.so` (two tokens or
 * partitions behind the same library) share it, so a C_Finalize + C_Initialize that one pool's worker runs after
 * CKR_DEVICE_ERROR closes the other pool's sessions too, and must wait until no thread of either pool is inside
 * the library. Each pool gets its own range of lanes in the module's gate; the gate's generation tells every
 * pool's sessions that a re-initialise happened.
 *
 * Modules are told apart by their real path: two paths to one file are one library (dlopen returns the same
 * handle), while a copy of a library under another name is loaded again, with a state of its own.
 */
import fs from 'node:fs'
import { InitGate } from './init-gate'

/** Lanes per module: room for every pool a process runs on it (each takes 2 × threads). */
const LANES_PER_MODULE = 1024

interface ModuleGate {
  buffer: SharedArrayBuffer
  /** Lane ranges in use, by first lane. */
  used: Map<number, number>
}

const gates = new Map<string, ModuleGate>()

export interface GateLease {
  /** The module's gate, shared by every pool on it. */
  buffer: SharedArrayBuffer
  /** The first of this pool's lanes in it. */
  base: number
  /** The pool's view: its lanes 0..n-1, offset to `base`. */
  gate: InitGate
  /** Once the pool's threads have ended: its lanes are free for another pool. */
  release: () => void
}

function moduleKey (modulePath: string): string {
  try {
    return fs.realpathSync(modulePath)
  } catch {
    // A module that does not exist fails to load in the worker, which reports it with the configured path.
    return modulePath
  }
}

/** Reserves `lanes` consecutive lanes in the gate of `modulePath`, creating the gate on first use. */
export function leaseGateLanes (modulePath: string, lanes: number): GateLease {
  const key = moduleKey(modulePath)
  let module = gates.get(key)
  if (module === undefined) {
    module = { buffer: InitGate.create(LANES_PER_MODULE), used: new Map() }
    gates.set(key, module)
  }
  const base = firstFree(module.used, lanes)
  module.used.set(base, lanes)
  const { buffer, used } = module
  const gate = new InitGate(buffer, base)
  const release = (): void => {
    // The pool's threads have ended; one terminated inside a batch may have left its flag raised.
    for (let lane = 0; lane < lanes; lane++) gate.releaseLane(lane)
    used.delete(base)
  }
  return { buffer, base, gate, release }
}

function firstFree (used: Map<number, number>, lanes: number): number {
  const ranges = [...used.entries()].sort((a, b) => a[0] - b[0])
  let base = 0
  for (const [start, length] of ranges) {
    if (base + lanes <= start) break
    base = Math.max(base, start + length)
  }
  if (base + lanes > LANES_PER_MODULE) throw new Error(`no room for ${lanes} more PKCS#11 lanes on one module (${LANES_PER_MODULE} in all)`)
  return base
}
