import fs from 'node:fs'
import path from 'node:path'
import type { BenchConfig } from '../config'
import { freePort } from '../../src/dev/free-port'
import { createCa, issueClientCert } from '../../src/dev/tls-cert'
import type { ClientCert } from '../loadgen/protocol'
import { selfSignedCert } from '../lib/cert'
import { start, waitForOutput } from '../lib/procs'
import { runLoad } from '../loadgen/run-load'
import { measureServer } from '../scenarios/measure'
import { TRANSPORT_CREDS, transportTemplates } from '../scenarios/transport'
import type { StageCost } from './in-process'

const MTLS_SUBJECT = 'cks.kms.us-east-1.amazonaws.com'

/** Server CPU per request of a server under the benchmark's own client and mix, closed loop. */
async function serverUsPerRequest (cfg: BenchConfig, dir: string, script: string, args: string[] = [], clientCert?: ClientCert): Promise<number> {
  const { cert, key } = selfSignedCert(dir)
  const port = await freePort()
  const name = [script, ...args.slice(0, 1)].join('-')
  const server = start(process.execPath, [path.join(__dirname, '../baselines', script), String(port), cert, key, ...args], path.join(dir, `${name}.log`))
  try {
    await waitForOutput(server, 'ready', 10_000)
    const templates = transportTemplates()
    const f = await measureServer(cfg, [server.child.pid!], () => runLoad({
      port, creds: TRANSPORT_CREDS, templates, mix: cfg.mix, threads: cfg.threads, connections: cfg.connections, warmupMs: 1000, measureMs: 3000, clientCert,
    }))
    return f.serverCores * 1e6 / f.load.totalRps
  } finally {
    await server.stop()
  }
}

/** The transport (bare uWS TLS) and xksgate's frontend code on top of it, each measured as a running server. */
export async function transportStages (cfg: BenchConfig, dir: string): Promise<StageCost[]> {
  const bare = await serverUsPerRequest(cfg, dir, 'transport-server.js')
  const frontend = await serverUsPerRequest(cfg, dir, 'frontend-server.js')
  const https = await serverUsPerRequest(cfg, dir, 'https-transport-server.js')
  const node = await serverUsPerRequest(cfg, dir, 'frontend-server.js', ['node'])
  const ca = createCa(path.join(dir, 'client-ca'), 'bench client CA')
  const client = issueClientCert(ca, { dir: path.join(dir, 'client-ca'), name: 'client', commonName: MTLS_SUBJECT })
  const clientCert = { cert: fs.readFileSync(client.certFile, 'utf8'), key: fs.readFileSync(client.keyFile, 'utf8') }
  const mtls = await serverUsPerRequest(cfg, dir, 'frontend-server.js', ['node', ca.certFile, MTLS_SUBJECT], clientCert)
  return [
    { stage: 'transport (TLS, HTTP parse, write)', us: bare, how: 'bare uWS SSLApp answering a fixed body, under the bench client (closed loop)' },
    { stage: 'frontend: head copy, body read, dispatch', us: frontend - bare, how: 'UwsFrontend with a constant handler, minus the bare transport' },
    { stage: 'transport, node:https (the naive design\'s)', us: https, how: 'node:https keep-alive server answering a fixed body, same client and load' },
    { stage: 'node frontend: TLS, HTTP parse, frontend', us: node, how: 'NodeFrontend with a constant handler (compare: uWS transport + frontend)' },
    { stage: 'node frontend with strict mTLS', us: mtls, how: 'the same with a client certificate required and its subject checked (keep-alive)' },
  ]
}
