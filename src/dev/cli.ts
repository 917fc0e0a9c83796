/**
 * `npm run dev -- --dir DIR --port PORT [--processes N] [--backends N] [--redis URL] [--metrics-port PORT]
 * [--softhsm-module PATH] [--frontend uws|node] [--mtls] [--policy FILE]`:
 * the embedded default. Provisions DIR on first use, serves on 127.0.0.1:PORT, and writes DIR/connection.json once
 * every serving process is ready (the scripted contract in docs/getting-started.md). SIGTERM or SIGINT stops all of them cleanly
 * and removes connection.json.
 */
// First: libuv's thread pool is sized before anything uses it.
import '../runtime/uv-pool'
import fs from 'node:fs'
import path from 'node:path'
import { exitWithUsageError, parseCommandLine } from '../config/cli-args'
import { loadConfig } from '../config/load'
import { createLogger, type Logger } from '../log'
import { StartupError, exitOnStartupFailure } from '../runtime/exit'
import { launch } from '../runtime/launch'
import { kmsClientSubject } from '../tls/client-auth'
import { freePort } from './free-port'
import { ensureDevClientAuth } from './mtls'
import { DEV_KEYS, provisionDevEnvironment, writeJson } from './provision'

const PROGRAM = 'xksgate dev'
/** The SigV4 region of connection.json; with --mtls the client certificate is KMS's for this region. */
const DEV_REGION = 'us-east-1'

const HELP = `usage: npm run dev -- [--dir DIR] [--port PORT] [--processes N] [--backends N] [--redis URL]
                      [--metrics-port PORT] [--softhsm-module PATH] [--frontend uws|node] [--mtls]
                      [--policy FILE]

  --dir DIR               where the token, certificate, secrets and config live (default .xksgate-dev)
  --port PORT             TLS port on 127.0.0.1, 0 for a free one (default 8443)
  --processes N           serving processes, 1-64 (default 1)
  --backends N            HSM backends, 1-8: N SoftHSM tokens holding the same keys (default 1)
  --redis URL             a redis:// URL for the replay cache and fleet size (default: in memory)
  --metrics-port PORT     Prometheus port on 127.0.0.1, 0 for a free one (default 0)
  --softhsm-module PATH   the SoftHSM library (default: the first of the usual install locations)
  --frontend uws|node     the HTTPS frontend (default uws; node narrows TLS 1.3 suites and can do mTLS)
  --mtls                  require a client certificate for ${kmsClientSubject(DEV_REGION)} from a private CA
                          made in DIR/mtls (implies --frontend node); connection.json names its files
  --policy FILE           a policy file for the dev key store (e.g. config/policies/test-client.json)
  --help                  print this help and exit

DIR/connection.json appears once every process serves; SIGTERM or SIGINT stops everything and removes it.
`

async function main (log: Logger): Promise<void> {
  const values = parseCommandLine(PROGRAM, {
    dir: { type: 'string', default: '.xksgate-dev' },
    port: { type: 'string', default: '8443' },
    // One process starts fastest; more exercise the cluster (SO_REUSEPORT, aggregated metrics).
    processes: { type: 'string', default: '1' },
    backends: { type: 'string', default: '1' },
    redis: { type: 'string' },
    'metrics-port': { type: 'string', default: '0' },
    'softhsm-module': { type: 'string' },
    frontend: { type: 'string' },
    mtls: { type: 'boolean', default: false },
    policy: { type: 'string' },
    help: { type: 'boolean', default: false },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  const dir = path.resolve(values.dir)
  let port = portArg('--port', values.port)
  const metricsPort = portArg('--metrics-port', values['metrics-port'])
  const processes = Number(values.processes)
  if (!/^\d+$/.test(values.processes) || processes < 1 || processes > 64) exitWithUsageError(PROGRAM, `--processes must be 1-64, got ${values.processes}`)
  const frontend = values.frontend ?? (values.mtls ? 'node' : 'uws')
  if (frontend !== 'uws' && frontend !== 'node') exitWithUsageError(PROGRAM, `--frontend must be uws or node, got ${frontend}`)
  if (values.mtls && frontend !== 'node') exitWithUsageError(PROGRAM, '--mtls needs --frontend node (uWS cannot check client certificates)')
  const backends = Number(values.backends)
  if (!/^\d+$/.test(values.backends) || backends < 1 || backends > 8) exitWithUsageError(PROGRAM, `--backends must be 1-8, got ${values.backends}`)
  // Every process must bind the same port, so a free one is chosen here rather than by each process; and one process
  // serving a new certificate after a reload listens on its port a second time, which uWS allows only on a port
  // it was given (SO_REUSEPORT is not set on a port it picks).
  if (port === 0) port = await freePort()

  // The first run creates the token and its keys, which takes seconds: say so rather than print nothing.
  const firstRun = !fs.existsSync(path.join(dir, 'config.json'))
  const provisionStarted = Date.now()
  if (firstRun) log.info({ dir }, 'first run: creating a SoftHSM token with its keys, a certificate and credentials')
  // Every provisioning failure (softhsm2 or openssl missing, a token that refuses its PIN) says what to do.
  const env = await provisionDevEnvironment(dir, port, { softhsmModule: values['softhsm-module'], backends })
    .catch((err: unknown) => { throw new StartupError((err as Error).message) })
  if (firstRun) log.info({ dir, ms: Date.now() - provisionStarted }, 'first run: provisioned; starting')
  const clientAuth = values.mtls ? ensureDevClientAuth(dir, DEV_REGION) : undefined
  // Environment overrides reach the forked processes too (they inherit process.env and read the same file).
  process.env.XKSGATE__cluster__processes = String(processes)
  process.env.XKSGATE__server__frontend = frontend
  if (clientAuth !== undefined) {
    process.env.XKSGATE__server__tls__clientAuth = JSON.stringify({ caFiles: [clientAuth.ca.certFile], allowedSubjects: [clientAuth.subject] })
  }
  process.env.XKSGATE__metrics__port = String(metricsPort)
  if (values.redis !== undefined) process.env.XKSGATE__redis = JSON.stringify({ url: values.redis })
  if (values.policy !== undefined) process.env.XKSGATE__keyStores__0__policy = JSON.stringify({ file: path.resolve(values.policy) })
  const config = loadConfig({ file: env.configFile })
  log.level = config.log.level
  const connectionFile = path.join(dir, 'connection.json')
  await launch({
    config,
    configFile: env.configFile,
    log,
    onReady: ({ port: servingPort, metricsPort }) => {
      const endpoint = `https://127.0.0.1:${servingPort}`
      writeJson(connectionFile, {
        endpoint,
        uriPrefix: config.keyStores[0].uriPrefix,
        region: DEV_REGION,
        accessKeyId: env.accessKeyId,
        secretAccessKey: env.secretAccessKey,
        keys: DEV_KEYS,
        caFile: env.certFile,
        ...(clientAuth !== undefined && {
          clientCertFile: clientAuth.client.certFile,
          clientKeyFile: clientAuth.client.keyFile,
          clientCaFile: clientAuth.ca.certFile,
          clientCaKeyFile: clientAuth.ca.keyFile,
        }),
        readyUrl: `${endpoint}/readyz`,
        // The process that takes SIGHUP (reload: in place with one process, else by replacing processes) and SIGTERM
        // (stop), and its file.
        pid: process.pid,
        configFile: env.configFile,
        ...(metricsPort !== undefined && { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` }),
      }, 0o600)
      log.info({ connectionFile, processes, backends, frontend, mtls: values.mtls }, 'ready: connection details written')
    },
    onStopped: () => fs.rmSync(connectionFile, { force: true }),
  })
}

function portArg (name: string, value: string): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) exitWithUsageError(PROGRAM, `${name} must be 0-65535, got ${value}`)
  return port
}

// Created before the config is read (at its default level), so that even a config error is logged as JSON.
const log = createLogger({ level: 'info', base: { worker: 0 } })
main(log).catch((err: unknown) => exitOnStartupFailure(PROGRAM, err, log))
