import { DEFAULT_MIX, Mix, parseMix } from './loadgen/templates'

/** Command-line flags of `npm run bench -- ...`. */

export const ALL_SCENARIOS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const
export type ScenarioId = typeof ALL_SCENARIOS[number]

export interface BenchConfig {
  quick: boolean
  /** Only the stage table (bench/stages), a few seconds. */
  stages: boolean
  json: boolean
  scenarios: Set<ScenarioId>
  /** Load-generator threads, and keep-alive connections in all (spread over the threads). */
  threads: number
  connections: number
  /**
   * Connections in all in the overload phase. An open loop at 2× capacity needs rate × latency requests in
   * flight: a client short of connections would queue them itself instead of offering them to the server, and
   * the proxy sheds load by requests in flight (server.maxInFlight, 256 by default), so the client must be able
   * to exceed that, as KMS's fleet of hosts can.
   */
  overloadConnections: number
  mix: Mix
  warmupMs: number
  /** Measured window of each closed-loop and overload phase. */
  measureMs: number
  /** Scenario d: the steady open-loop run over which RSS growth is measured. */
  steadyMs: number
  steadyRate: number
  rawHsmMs: number
  /** Before each load phase, wait up to this long for other processes to leave the cores alone. */
  quietWaitMs: number
  /** Proxy processes (--processes), undefined: the CLI's default. */
  processes: number | undefined
  proxyCli: string | undefined
  /** Scenario h: the shaped HSM's round trip, one run per value. */
  hsmLatenciesMs: number[]
}

const USAGE = `usage: npm run bench -- [--quick] [--json] [--stages] [--only a,b,c,d,e,f,g,h] [--threads N] [--connections N]
  [--overload-connections N] [--hsm-latency-ms 0.5,1,2,5 (runs a and h unless --only says otherwise)]
  [--mix encrypt:4,decrypt:4,metadata:1,health:1] [--duration S] [--steady S] [--rate R] [--processes N]
  [--quiet-wait S]
  [--proxy-cli PATH]`

export function parseArgs (argv: string[]): BenchConfig {
  const quick = argv.includes('--quick')
  const cfg: BenchConfig = {
    quick,
    stages: argv.includes('--stages'),
    json: argv.includes('--json'),
    scenarios: new Set(ALL_SCENARIOS),
    threads: 2,
    connections: 32,
    overloadConnections: 1536,
    mix: DEFAULT_MIX,
    warmupMs: quick ? 1500 : 5000,
    measureMs: quick ? 6000 : 20_000,
    steadyMs: quick ? 20_000 : 60_000,
    steadyRate: 1800,
    rawHsmMs: quick ? 2000 : 10_000,
    quietWaitMs: quick ? 0 : 30_000,
    processes: undefined,
    proxyCli: undefined,
    hsmLatenciesMs: [0.5, 1, 2, 5],
  }
  let only = false
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    if (flag === '--quick' || flag === '--json' || flag === '--stages') continue
    const value = argv[++i]
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`)
    const num = (): number => {
      const n = Number(value)
      if (!(n > 0)) throw new Error(`${flag} needs a positive number\n${USAGE}`)
      return n
    }
    switch (flag) {
      case '--only': cfg.scenarios = new Set(value.split(',').map(checkScenario)); only = true; break
      case '--hsm-latency-ms': cfg.hsmLatenciesMs = value.split(',').map(latency); if (!only) cfg.scenarios = new Set(['a', 'h']); break
      case '--threads': cfg.threads = num(); break
      case '--connections': cfg.connections = num(); break
      case '--overload-connections': cfg.overloadConnections = num(); break
      case '--mix': cfg.mix = parseMix(value); break
      case '--duration': cfg.measureMs = num() * 1000; break
      case '--steady': cfg.steadyMs = num() * 1000; break
      case '--rate': cfg.steadyRate = num(); break
      case '--quiet-wait': cfg.quietWaitMs = Number(value) * 1000; break
      case '--processes': cfg.processes = num(); break
      case '--proxy-cli': cfg.proxyCli = value; break
      default: throw new Error(`unknown flag ${flag}\n${USAGE}`)
    }
  }
  return cfg
}

function latency (s: string): number {
  const ms = Number(s)
  if (!(ms >= 0 && ms <= 1000)) throw new Error(`--hsm-latency-ms needs milliseconds from 0 to 1000, got "${s}"\n${USAGE}`)
  return ms
}

function checkScenario (s: string): ScenarioId {
  if (!(ALL_SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}"\n${USAGE}`)
  return s as ScenarioId
}
