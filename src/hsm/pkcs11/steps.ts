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
import type { Handle, Pkcs11Api } from './cryptoki'

export type Step =
  | { call: 'C_Encrypt' | 'C_Decrypt', session: Handle, data: Buffer, out: Buffer }
  /** Wait before a retry (a busy HSM). */
  | { call: 'pause', ms: number }
  /** Wait until no other operation of this thread is inside the module (before a re-initialise). */
  | { call: 'quiesce' }

/** A step's result: the output of a crypto call, nothing for the others. */
export type Steps<T> = Generator<Step, T, Buffer | undefined>

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** What the async driver needs besides the module: how to wait for this thread's other operations. */
export interface AsyncDriverContext {
  api: Pkcs11Api
  /** Resolves once this operation is the thread's only one inside the module. */
  othersDone: () => Promise<void>
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
    let result: Buffer | undefined
    try {
      result = await asyncStep(ctx, next.value)
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

async function asyncStep (ctx: AsyncDriverContext, step: Step): Promise<Buffer | undefined> {
  switch (step.call) {
    case 'C_Encrypt': return await ctx.api.C_EncryptAsync(step.session, step.data, step.out)
    case 'C_Decrypt': return await ctx.api.C_DecryptAsync(step.session, step.data, step.out)
    case 'pause': return await new Promise(resolve => setTimeout(() => resolve(undefined), step.ms))
    case 'quiesce':
      await ctx.othersDone()
      return undefined
  }
}
