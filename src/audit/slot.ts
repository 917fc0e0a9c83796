/**
 * One chain per serving process, whatever starts them (the cluster primary, PM2 instances, several systemd
 * units): each process claims the lowest free slot k with a lock file and writes `<file>` (k = 0) or `<file>.k`.
 * A lock whose process is gone is taken over, so a replaced process continues its predecessor's chain, where
 * the predecessor's last record left it. Two live writers never share a file, which would fork its chain.
 */
import fs from 'node:fs'
import { processExists } from '../runtime/process-exists'

const MAX_SLOTS = 1024

export interface Slot { index: number, file: string, release: () => void }

export const slotFile = (file: string, index: number): string => index === 0 ? file : `${file}.${index}`

function tryLock (lock: string): boolean {
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 })
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const owner = Number(fs.readFileSync(lock, 'utf8'))
  // A live owner, or one of another user (which is not ours either), keeps its slot.
  if (Number.isInteger(owner) && owner > 0 && processExists(owner)) return false
  // Its process is gone: take it over. Another process doing the same at this instant loses at 'wx'.
  fs.rmSync(lock, { force: true })
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 })
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

export function claimSlot (file: string): Slot {
  for (let index = 0; index < MAX_SLOTS; index++) {
    const chainFile = slotFile(file, index)
    const lock = chainFile + '.lock'
    if (tryLock(lock)) return { index, file: chainFile, release: () => fs.rmSync(lock, { force: true }) }
  }
  throw new Error(`/audit/file: all ${MAX_SLOTS} audit slots of ${file} are locked by live processes`)
}
