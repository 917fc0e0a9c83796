/**
 * A real remote PKCS#11 hop in front of SoftHSM: `p11-kit server` holds the token and serves it on a Unix socket,
 * and the proxy loads p11-kit's client module, which forwards every call over that socket (p11-kit's RPC).
 * XKSGATE_TEST_HSM=p11-kit makes every dev server a test starts use it (test/helpers/dev-server.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { DEV_TOKEN_LABEL, provisionDevEnvironment } from '../../src/dev/provision'
import { repoRoot } from './paths'
import { SOFTHSM_MODULE } from './shaped-hsm'

const CLIENT_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib64/pkcs11/p11-kit-client.so',
  '/usr/lib/pkcs11/p11-kit-client.so',
]

/** p11-kit's client module, or undefined when p11-kit-modules is not installed. */
export function p11KitClientModule (): string | undefined {
  return CLIENT_CANDIDATES.find(p => fs.existsSync(p))
}

export interface P11KitServer {
  /** The value for P11_KIT_SERVER_ADDRESS. */
  address: string
  socketPath: string
  child: ChildProcess
  /** SIGTERM to the server and every connection's process, then wait for the exit (the far side going away). */
  stop: () => Promise<void>
}

/**
 * `p11-kit server` in the foreground for the token `tokenLabel` of the SoftHSM configured by `softhsmConf`, on a
 * socket at `socketPath`; resolves once the socket exists.
 */
export async function startP11KitServer (options: { softhsmConf: string, tokenLabel: string, socketPath: string, provider?: string }): Promise<P11KitServer> {
  fs.rmSync(options.socketPath, { force: true })
  // Its own process group: the server forks a process per client connection, which holds the module and the
  // sessions and outlives the listener, so the far side going away is the whole group going away.
  const child = spawn('p11-kit', ['server', '-f', '-n', options.socketPath, '--provider', options.provider ?? SOFTHSM_MODULE,
    `pkcs11:token=${options.tokenLabel}`], { env: { ...process.env, SOFTHSM2_CONF: options.softhsmConf }, stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!fs.existsSync(options.socketPath)) {
    if (child.exitCode !== null) throw new Error(`p11-kit server exited with ${child.exitCode}: ${stderr}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`p11-kit server made no socket in 10 s: ${stderr}`)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return {
    address: `unix:path=${options.socketPath}`,
    socketPath: options.socketPath,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM')
      await exited
      // The connections' processes too, if one ignored the SIGTERM.
      try { process.kill(-child.pid!, 'SIGKILL') } catch { /* none left */ }
    },
  }
}

/**
 * Whether p11-kit's RPC carries AES-GCM: its client lists only the mechanisms whose parameters it can send, and
 * 0.24 (Debian 12) leaves CKM_AES_GCM out (its C_EncryptInit answers CKR_MECHANISM_INVALID); 0.25 carries it.
 * Asked in a child process, so this process never loads the client module.
 */
export async function p11KitCarriesGcm (server: P11KitServer): Promise<boolean> {
  const script = `const p = require('pkcs11js'); const api = new p.PKCS11(); api.load(process.argv[1])
    api.C_Initialize({ flags: p.CKF_OS_LOCKING_OK }); const slot = api.C_GetSlotList(true)[0]
    console.log(api.C_GetMechanismList(slot).includes(p.CKM_AES_GCM)); api.C_Finalize()`
  const child = spawn(process.execPath, ['-e', script, p11KitClientModule() ?? 'p11-kit-client.so'], {
    cwd: repoRoot,
    env: { ...process.env, P11_KIT_SERVER_ADDRESS: server.address },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise(resolve => child.once('close', resolve))
  if (!/^(true|false)$/m.test(out)) throw new Error(`could not list the mechanisms through p11-kit: ${out}`)
  return out.includes('true')
}

export interface RemoteDevHsm {
  server: P11KitServer
  /** What the dev server's environment needs to use the hop: the client module and the server's address. */
  env: NodeJS.ProcessEnv
}

/**
 * Provisions the dev environment in `dir` first (the dev server then reuses it), so that `p11-kit server` can hold
 * its SoftHSM token, and points the dev server's one backend at p11-kit's client module.
 */
export async function remoteDevHsm (dir: string): Promise<RemoteDevHsm> {
  const client = p11KitClientModule()
  if (client === undefined) throw new Error(`XKSGATE_TEST_HSM=p11-kit: no p11-kit client module at ${CLIENT_CANDIDATES.join(', ')} (install p11-kit-modules)`)
  // Provisioning sets SOFTHSM2_CONF for its process; this test process keeps its own.
  const before = process.env.SOFTHSM2_CONF
  try {
    await provisionDevEnvironment(dir, 0)
  } finally {
    if (before === undefined) delete process.env.SOFTHSM2_CONF
    else process.env.SOFTHSM2_CONF = before
  }
  const server = await startP11KitServer({ softhsmConf: path.join(dir, 'softhsm', 'softhsm2.conf'), tokenLabel: DEV_TOKEN_LABEL, socketPath: path.join(dir, 'p11-kit.sock') })
  return { server, env: { XKSGATE__hsm__modulePath: client, P11_KIT_SERVER_ADDRESS: server.address } }
}
