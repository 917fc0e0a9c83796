/**
 * A real remote PKCS#11 hop in front of SoftHSM: `p11-kit server` holds the token and serves it on a Unix socket,
 * and the proxy loads p11-kit's client module, which forwards every call over that socket (p11-kit's RPC).
 * XKSGATE_TEST_HSM=p11-kit makes every dev server a test starts use it (test/helpers/dev-server.ts).
 *
 * Two installations of p11-kit serve: this machine's, and Debian 13's in the directory that
 * deploy/compat/p11-kit-root.sh makes (XKSGATE_P11KIT_ROOT, default /var/cache/xksgate-test/p11-kit-trixie). The
 * second is for a machine whose own p11-kit is 0.24 (Debian 12), which cannot carry AES-GCM. From it, the server runs
 * chrooted into the root (it execs its p11-kit-remote by an absolute path), and the proxy's Node runs through the
 * root's dynamic loader, so that it loads the root's client module with the root's C library (the client needs
 * glibc 2.38). The token and the socket live below the root, at a path that names them inside the chroot as well.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
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

const HOST_EXEC_PATH = path.join(__dirname, 'host-exec-path.js')

export const P11KIT_ROOT = process.env.XKSGATE_P11KIT_ROOT ?? '/var/cache/xksgate-test/p11-kit-trixie'

/** One installation of p11-kit, and how to run its two ends. */
export interface P11Kit {
  /** For messages: this machine's, or the root's with its version. */
  origin: string
  /** The client module, as the proxy loads it. */
  clientModule: string
  /** The command line of this Node with these arguments, able to load the client module. */
  node: (args: string[]) => string[]
  /** The command line of `p11-kit server` with these arguments. */
  serverCommand: (args: string[]) => string[]
  /** The SoftHSM module, as the server sees it. */
  softhsmModule: string
  /** Where a test's token and socket go: the server sees them at the same paths. */
  tmpDir: string
}

/** This machine's p11-kit, or undefined when p11-kit-modules is not installed. */
export function hostP11Kit (): P11Kit | undefined {
  const clientModule = CLIENT_CANDIDATES.find(p => fs.existsSync(p))
  if (clientModule === undefined) return undefined
  return {
    origin: 'p11-kit of this machine',
    clientModule,
    node: args => [process.execPath, ...args],
    serverCommand: args => ['p11-kit', 'server', ...args],
    softhsmModule: SOFTHSM_MODULE,
    tmpDir: os.tmpdir(),
  }
}

/** What deploy/compat/p11-kit-root.sh writes to ROOT/.xksgate-p11-kit-root. */
interface RootManifest { p11KitVersion: string, loader: string, libraryPath: string, clientModule: string, server: string, softhsmModule: string }

/** Debian 13's p11-kit from deploy/compat/p11-kit-root.sh, or why it cannot be used here. */
export function rootP11Kit (root = P11KIT_ROOT): P11Kit | { unavailable: string } {
  const made = 'make it with `bash deploy/compat/p11-kit-root.sh` (.ci/run does)'
  let manifest: RootManifest
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(root, '.xksgate-p11-kit-root'), 'utf8')) as RootManifest
  } catch {
    const failed = fs.existsSync(`${root}.failed`) ? `: making it failed: ${fs.readFileSync(`${root}.failed`, 'utf8').trim()}` : `; ${made}`
    return { unavailable: `no Debian 13 p11-kit root at ${root}${failed}` }
  }
  if (process.getuid?.() !== 0) return { unavailable: `the p11-kit server is chrooted into ${root}, which needs root` }
  return {
    origin: `Debian 13's p11-kit ${manifest.p11KitVersion} in ${root}`,
    clientModule: manifest.clientModule,
    node: args => [manifest.loader, '--library-path', manifest.libraryPath, process.execPath, '--require', HOST_EXEC_PATH, ...args],
    serverCommand: args => ['chroot', root, manifest.server, ...args],
    softhsmModule: manifest.softhsmModule,
    tmpDir: path.join(root, 'tmp'),
  }
}

let chosen: Promise<P11Kit> | undefined

/**
 * The p11-kit that XKSGATE_TEST_HSM=p11-kit runs the dev servers through: this machine's when it carries AES-GCM,
 * else the root's when there is one (else this machine's, whose refusal the proxy then reports). Asked once.
 */
export async function testP11Kit (): Promise<P11Kit> {
  chosen ??= (async () => {
    const host = hostP11Kit()
    const root = rootP11Kit()
    if (host === undefined) {
      if ('unavailable' in root) throw new Error(`XKSGATE_TEST_HSM=p11-kit: no p11-kit client module at ${CLIENT_CANDIDATES.join(', ')} (install p11-kit-modules)`)
      return root
    }
    return 'unavailable' in root || await carriesGcm(host) ? host : root
  })()
  return await chosen
}

/** Whether `kit`'s RPC carries AES-GCM, asked of a server of its own on a token made for the question. */
export async function carriesGcm (kit: P11Kit): Promise<boolean> {
  const dir = fs.mkdtempSync(path.join(kit.tmpDir, 'xksgate-p11-kit-gcm-'))
  try {
    const remote = await remoteDevHsm(dir, kit)
    try {
      return await p11KitCarriesGcm(remote.server)
    } finally {
      await remote.server.stop()
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export interface P11KitServer {
  kit: P11Kit
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
export async function startP11KitServer (options: { kit: P11Kit, softhsmConf: string, tokenLabel: string, socketPath: string, provider?: string }): Promise<P11KitServer> {
  fs.rmSync(options.socketPath, { force: true })
  const [command, ...args] = options.kit.serverCommand(['-f', '-n', options.socketPath, '--provider', options.provider ?? options.kit.softhsmModule,
    `pkcs11:token=${options.tokenLabel}`])
  // Its own process group: the server forks a process per client connection, which holds the module and the
  // sessions and outlives the listener, so the far side going away is the whole group going away.
  const child = spawn(command, args, { env: { ...process.env, SOFTHSM2_CONF: options.softhsmConf }, stdio: ['ignore', 'ignore', 'pipe'], detached: true })
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
    kit: options.kit,
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
  const [command, ...args] = server.kit.node(['-e', script, server.kit.clientModule])
  const child = spawn(command, args, {
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
  /** The dev server's `node` command line (P11Kit.node). */
  node: (args: string[]) => string[]
}

/**
 * Provisions the dev environment in `dir` first (the dev server then reuses it), so that `p11-kit server` can hold
 * its SoftHSM token, and points the dev server's one backend at p11-kit's client module. `dir` must be below
 * `kit.tmpDir`, where the server sees it.
 */
export async function remoteDevHsm (dir: string, kit: P11Kit): Promise<RemoteDevHsm> {
  if (path.relative(kit.tmpDir, dir).startsWith('..')) throw new Error(`${dir} is outside ${kit.tmpDir}, where ${kit.origin} can see it`)
  // Provisioning sets SOFTHSM2_CONF for its process; this test process keeps its own.
  const before = process.env.SOFTHSM2_CONF
  try {
    await provisionDevEnvironment(dir, 0)
  } finally {
    if (before === undefined) delete process.env.SOFTHSM2_CONF
    else process.env.SOFTHSM2_CONF = before
  }
  const server = await startP11KitServer({ kit, softhsmConf: path.join(dir, 'softhsm', 'softhsm2.conf'), tokenLabel: DEV_TOKEN_LABEL, socketPath: path.join(dir, 'p11-kit.sock') })
  return { server, env: { XKSGATE__hsm__modulePath: kit.clientModule, P11_KIT_SERVER_ADDRESS: server.address }, node: kit.node }
}
