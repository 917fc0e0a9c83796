/**
 * A resolved secret: the HSM PIN, a SigV4 secret access key, the Redis password. Every way of printing one —
 * JSON (what pino writes), util.inspect (console.log, error dumps), String() and template literals — gives
 * "[redacted]", however deeply it sits in a logged object. Only reveal() gives the value, so a secret can reach a
 * log only through code that asks for it by name.
 */
import { inspect } from 'node:util'

const REDACTED = '[redacted]'

export class Secret {
  // A private field: invisible to Object.keys, spread, structuredClone and every serializer.
  readonly #value: string

  constructor (value: string) {
    this.#value = value
  }

  /** The value, for the one call that needs it (C_Login, the SigV4 key, Redis AUTH). */
  reveal (): string {
    return this.#value
  }

  toJSON (): string {
    return REDACTED
  }

  toString (): string {
    return REDACTED
  }

  [Symbol.toPrimitive] (): string {
    return REDACTED
  }

  [inspect.custom] (): string {
    return REDACTED
  }
}
