/**
 * An operation on a session written once, run two ways. The calls that wait on the HSM (C_Encrypt, C_Decrypt,
 * a backoff pause) are yielded as steps instead of made: the sync driver makes them on this thread, one after
 * another, as a batch on an HSM that is CPU work on this host wants; the async driver makes them through
 * pkcs11js's asynchronous calls (libuv's thread pool), so one thread keeps many sessions busy on an HSM that is
 * mostly network wait. Everything between the steps (C_EncryptInit, key lookups, digests) runs on the thread.
 *
 * Why both: on the project's 2-core machine an asynchronous C_Encrypt cost ~40 µs more CPU than a synchronous
 * one with SoftHSM (131-156 against 90-115 µs per 4 KiB encrypt), a loss where the call itself takes 30 µs,
 * and nothing next to a call that waits a millisecond on the network (docs/operations.md "Processes, threads,
 * sessions: sizing").
 */
import * as pkcs11js from 'pkcs11js'
import type { Handle, Pkcs11Api } from './cryptoki'
import type { ThreadCalls } from './thread-calls'

export type Step =
  | { call: 'C_Encrypt' | 'C_Decrypt', session: Handle, data: Buffer, out: Buffer }
  /** Wait before a retry (a busy HSM). */
  | { call: 'pause', ms: number }
  /** Run alone on this thread until the next step: no other operation's call in the module (a re-initialise). */
  | { call: 'quiesce' }

/** A step's result: the output of a crypto call, nothing for the others. */
export type Steps<T> = Generator<Step, T, Buffer | undefined>

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** What the async driver needs besides the module: the thread's calls, and the library's generation. */
export interface AsyncDriverContext {
  api: Pkcs11Api
  calls: ThreadCalls
  /** Bumped by every re-initialise (init-gate.ts): a session prepared before one is gone. */
  generation: () => number
}

/** Runs the steps on this thread. A pause blocks the thread: only a batch on a CPU-bound HSM runs this way. */
export function runSync<T> (api: Pkcs11Api, steps: Steps<T>): T {
  let next = steps.next()
  while (next.done !== true) {
    let result: Buffer | undefined
    try {
      result = syncStep(api, next.value)
    } catch (err) {
      next = steps.throw(err)
      continue
    }
    next = steps.next(result)
  }
  return next.value
}

/** Runs the steps with the waits off this thread: the thread serves other operations meanwhile. */
export async function runAsync<T> (ctx: AsyncDriverContext, steps: Steps<T>): Promise<T> {
  let next = steps.next()
  while (next.done !== true) {
    const step = next.value
    if (step.call === 'quiesce') {
      // Alone until the operation's next step: the re-initialise it runs meanwhile overlaps no call.
      await ctx.calls.alone()
      try {
        next = steps.next(undefined)
      } finally {
        ctx.calls.done()
      }
      continue
    }
    // The step was prepared (C_EncryptInit) in this generation of the library.
    const generation = ctx.generation()
    let result: Buffer | undefined
    try {
      result = await asyncStep(ctx, step, generation)
    } catch (err) {
      next = steps.throw(err)
      continue
    }
    next = steps.next(result)
  }
  return next.value
}

function syncStep (api: Pkcs11Api, step: Step): Buffer | undefined {
  switch (step.call) {
    case 'C_Encrypt': return api.C_Encrypt(step.session, step.data, step.out)
    case 'C_Decrypt': return api.C_Decrypt(step.session, step.data, step.out)
    case 'pause':
      Atomics.wait(sleeper, 0, 0, step.ms)
      return undefined
    // A synchronous batch is the thread's only work in the module (the executor sees to it).
    case 'quiesce': return undefined
  }
}

async function asyncStep (ctx: AsyncDriverContext, step: Exclude<Step, { call: 'quiesce' }>, generation: number): Promise<Buffer | undefined> {
  if (step.call === 'pause') return await new Promise(resolve => setTimeout(() => resolve(undefined), step.ms))
  await ctx.calls.enterCall()
  try {
    // Re-initialised while this call waited: its session is gone, and its number may be another session's now.
    if (ctx.generation() !== generation) throw new pkcs11js.Pkcs11Error('CKR_SESSION_HANDLE_INVALID', pkcs11js.CKR_SESSION_HANDLE_INVALID, step.call)
    return step.call === 'C_Encrypt'
      ? await ctx.api.C_EncryptAsync(step.session, step.data, step.out)
      : await ctx.api.C_DecryptAsync(step.session, step.data, step.out)
  } finally {
    ctx.calls.leaveCall()
  }
}
