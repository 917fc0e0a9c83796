/**
 * A small seeded generator (mulberry32): the fuzzer's case n is drawn from its own stream, seeded by
 * (seed, n), so any single case can be rebuilt from the two numbers a failure prints.
 */
export class Rng {
  private state: number

  constructor (seed: number, stream = 0) {
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35)) >>> 0
  }

  /** Uniform in [0, 1). */
  next (): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [min, max]. */
  int (min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]
  }

  bytes (n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(0, 255)))
  }

  /** A string of `n` characters from `alphabet`. */
  text (n: number, alphabet: string): string {
    let out = ''
    for (let i = 0; i < n; i++) out += alphabet[this.int(0, alphabet.length - 1)]
    return out
  }
}
