/**
 * A child process that floods one key store with signed Encrypts at a fixed rate while told to (IPC messages
 * 'start' and 'stop'), and reports the statuses it got ('report' → {statuses}). Sending from its own process keeps
 * the flood's client work off the event loop of the test that measures latency.
 *   fork(flood.js, [JSON connection], …); rate in requests per second as argv[3].
 */
import { XksClient, metadataFor } from './xks-client'

const connection = JSON.parse(process.argv[2])
const perMs = Number(process.argv[3]) / 1000
const client = new XksClient(connection, 64)
const statuses: Record<string, number> = {}
let timer: NodeJS.Timeout | undefined
let sent = 0

function send (): void {
  const body = { requestMetadata: metadataFor('Encrypt', { kmsViaService: 'ebs' }), plaintext: 'SGVsbG8gV29ybGQh', encryptionAlgorithm: 'AES_GCM' }
  client.send({ path: `${connection.uriPrefix}/keys/${connection.keyId}/encrypt`, body }).then(
    res => { statuses[res.status] = (statuses[res.status] ?? 0) + 1 },
    () => { statuses.error = (statuses.error ?? 0) + 1 })
}

process.on('message', (message: string) => {
  if (message === 'start' && timer === undefined) {
    // Paced by elapsed time, not by ticks: a timer that fires late (a busy machine) sends what is due at once.
    const started = performance.now()
    const base = sent
    timer = setInterval(() => {
      for (const due = base + Math.floor((performance.now() - started) * perMs); sent < due; sent++) send()
    }, 10)
  } else if (message === 'stop') {
    clearInterval(timer)
    timer = undefined
  } else if (message === 'report') {
    process.send?.({ statuses, sent })
  } else if (message === 'exit') {
    client.close()
    process.exit(0)
  }
})
process.send?.('ready')
