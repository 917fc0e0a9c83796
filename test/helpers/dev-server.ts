/**
 * Starts the real proxy the way a user does (`node dist/src/dev/cli.js --dir DIR --port 0`) and waits for its
 * connection.json. Every integration test talks to it over real TLS on loopback. XKSGATE_DIST names another build
 * directory to take the proxy from (relative to the repo root; `dist` by default), for a private `tsc --outDir`.
 * XKSGATE_TEST_FRONTEND (`uws` or `node`) picks the frontend of every server a test starts (`--frontend`), so the
 * same test file runs against both (test/integration/node-frontend/ does that for the conformance suite).
 * XKSGATE_TEST_HSM=p11-kit puts a real remote PKCS#11 hop (p11-kit server and client, test/helpers/p11-kit.ts)
 * between the proxy and SoftHSM for every single-backend server a test starts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { remoteDevHsm, testP11Kit } from './p11-kit'
import { repoRoot } from './paths'

export interface Connection {
  endpoint: string
  uriPrefix: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  keys: { encryptDecrypt: string, encryptOnly: string, decryptOnly: string, impotent: string }
  caFile: string
  /** With --mtls: the client certificate to present, and the private CA that issued it. */
  clientCertFile?: string
  clientKeyFile?: string
  clientCaFile?: string
  clientCaKeyFile?: string
  /** The Prometheus endpoint (`--metrics-port`, a free one by default). */
  metricsUrl?: string
}

/** The frontend tests run against: XKSGATE_TEST_FRONTEND, default uws. */
export function testFrontend (): 'uws' | 'node' {
  return process.env.XKSGATE_TEST_FRONTEND === 'node' ? 'node' : 'uws'
}

export interface DevServer {
  dir: string
  connection: Connection
  process: ChildProcess
  /** Everything the server wrote to stdout/stderr so far (its pino log lines). */
  output: () => string
  /** SIGTERM, then wait for exit; resolves to the exit code. */
  stop: () => Promise<number | null>
}

export interface DevServerOptions {
  /** Reuse a provisioned directory (a fresh temp dir by default). */
  dir?: string
  args?: string[]
  env?: NodeJS.ProcessEnv
  readyTimeoutMs?: number
  /** The server's `node` command line for these arguments (a PKCS#11 module built for another C library: test/helpers/p11-kit.ts). */
  node?: (args: string[]) => string[]
}

/**
 * KMS's latency budget (240 ms a request, 200 ms an HSM call) widened to seconds for every test server, unless the
 * test sets its own: on a shared 2-core host at load average 20-30 requests starved of CPU answered 503 past 240 ms
 * (the loaded fresh-clone runs in docs/getting-started.md), while what the tests check (statuses, bodies, headers, counts) does not
 * depend on latency. Tests of a budget set XKSGATE__server__requestTimeoutMs or XKSGATE__hsm__opTimeoutMs.
 */
export const LOADED_HOST_BUDGET = { XKSGATE__hsm__opTimeoutMs: '2000', XKSGATE__server__requestTimeoutMs: '5000' } as const

export async function startDevServer (options: DevServerOptions = {}): Promise<DevServer> {
  // Not when the test picks the module itself, or several backends.
  const viaP11Kit = process.env.XKSGATE_TEST_HSM === 'p11-kit' && !(options.args ?? []).includes('--backends') &&
    options.env?.XKSGATE__hsm__modulePath === undefined
  const kit = viaP11Kit ? await testP11Kit() : undefined
  const dir = options.dir ?? fs.mkdtempSync(path.join(kit?.tmpDir ?? os.tmpdir(), 'xksgate-test-'))
  const connectionFile = path.join(dir, 'connection.json')
  fs.rmSync(connectionFile, { force: true })
  const remote = kit === undefined ? undefined : await remoteDevHsm(dir, kit)
  const node = options.node ?? remote?.node ?? ((args: string[]) => [process.execPath, ...args])
  const [command, ...args] = node([path.join(repoRoot, process.env.XKSGATE_DIST ?? 'dist', 'src/dev/cli.js'), '--dir', dir, '--port', '0', ...frontendArgs(options.args), ...(options.args ?? [])])
  const child = spawn(command, args, {
    env: { ...process.env, ...LOADED_HOST_BUDGET, ...remote?.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
    .finally(async () => await remote?.server.stop())

  // Generous: a start (provisioning, several processes) took past 30 s at load average 20-30 on 2 cores.
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000)
  while (!fs.existsSync(connectionFile)) {
    if (child.exitCode !== null) throw new Error(`dev server exited with ${child.exitCode}:\n${output}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`dev server not ready in time:\n${output}`)
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  const connection = JSON.parse(fs.readFileSync(connectionFile, 'utf8')) as Connection
  return {
    dir,
    connection,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return await exited
    },
  }
}

function frontendArgs (args: string[] = []): string[] {
  return args.includes('--frontend') || process.env.XKSGATE_TEST_FRONTEND === undefined ? [] : ['--frontend', testFrontend()]
}
