/**
 * The part of a serving process that a reload replaces in place (docs/operations.md "Reload: configuration, credentials,
 * certificates, keys"): the XKS handler compiled from the key stores (credentials, keys and their versions,
 * `disabled`, policies, quotas), the size limits and GetHealthStatus's identity, and the certificate the frontend
 * serves. What the handler shares with the rest of the process (HSM pool, replay cache, admission, audit) stays.
 *
 * The swap is one reference assignment between two requests: a request runs to its end on the handler it started
 * with, the next one gets the new handler. Everything that can fail (the file, the keys on the token, the new
 * certificate's listener) is done before it, so a reload is applied whole or not at all.
 */
import { createHash } from 'node:crypto'
import { materializeTls, type TlsMaterial } from '../cluster/tls-material'
import type { XksgateConfig } from '../config/schema'
import { readClientCas } from '../config/tls-files'
import type { FleetHealth } from '../health/fleet-health'
import type { HsmBackend } from '../hsm/types'
import type { Logger } from '../log'
import { processesOnHost } from '../replay/replay-layout'
import type { Frontend } from '../server/frontend'
import { VERSION } from '../version'
import type { Admission } from '../xks/admission'
import type { Authenticator } from '../xks/authenticate'
import { buildKeyStores, type KeyStore } from '../xks/key-stores'
import { createXksHandler, type Authorize, type XksCoreDeps, type XksHandler } from '../xks/pipeline'

type SummingHandler = ReturnType<typeof createXksHandler>
import { processCount } from './launch'
import { requireHealthyCertificate } from './startup-checks'

// The spec lets GetHealthStatus answer from a cached deep check no older than one minute.
export const HEALTH_MAX_AGE_MS = 60_000

/** What the handler shares with the rest of the process, fixed for its life. */
export interface SharedDeps {
  authenticator: Authenticator
  admission: Admission
  authorize: Authorize
  hsm: HsmBackend
  health: FleetHealth
  fleetSize: () => number
  hsmTimeoutMs: number
  requestTimeoutMs: number
  log: Logger
  observe: XksCoreDeps['observe']
  audit: XksCoreDeps['audit']
  /** Checks every configured key on every HSM backend, as at startup (ConfigError naming the field). */
  requireKeys: (config: XksgateConfig) => Promise<void>
}

export interface Credential { keyStore: string, accessKeyId: string, createdAtMs: number }

export class ReloadableCore {
  #config: XksgateConfig
  #handler: SummingHandler
  #stores: KeyStore[]
  #certNotAfterMs: number
  #tlsDigest: string
  /** Key store name → its index in the replay cache, kept across reloads so that a signature stays found. */
  readonly #storeIndex = new Map<string, number>()
  /** Every XKS request goes through here to the handler of the moment. */
  readonly handler: XksHandler = req => this.#handler(req)

  constructor (config: XksgateConfig, tls: TlsMaterial, certNotAfter: Date, private readonly shared: SharedDeps) {
    this.#config = config
    this.#stores = this.#buildStores(config)
    this.#handler = this.#buildHandler(config, this.#stores)
    this.#certNotAfterMs = certNotAfter.getTime()
    this.#tlsDigest = tlsDigest(config, tls)
  }

  /** Logs the rejections summed so far (at a stop), so the last interval is not lost. */
  flushRejections (): void {
    this.#handler.flushRejections()
  }

  get config (): XksgateConfig {
    return this.#config
  }

  get stores (): readonly KeyStore[] {
    return this.#stores
  }

  get certNotAfterMs (): number {
    return this.#certNotAfterMs
  }

  /** Credentials whose issue time is known (xksgate_credential_age_days). */
  credentials (): Credential[] {
    return this.#config.keyStores.flatMap(store => store.credentials.flatMap(c =>
      c.createdAtMs === undefined ? [] : [{ keyStore: store.name, accessKeyId: c.accessKeyId, createdAtMs: c.createdAtMs }]))
  }

  /**
   * Applies `next` (validated as at startup, src/runtime/in-place-config.ts) with `tls`, the certificate and key
   * read with it. Throws, changing nothing, when a key is missing or unfit on a token, the certificate is not
   * servable, or the frontend cannot serve it; returns whether the certificate was replaced.
   */
  async apply (next: XksgateConfig, tls: TlsMaterial, frontend: Frontend): Promise<{ certificateReplaced: boolean }> {
    const certificate = requireHealthyCertificate(next, this.shared.log)
    await this.shared.requireKeys(next)
    const stores = this.#buildStores(next)
    const handler = this.#buildHandler(next, stores)
    const digest = tlsDigest(next, tls)
    const certificateReplaced = digest !== this.#tlsDigest
    if (certificateReplaced) {
      // The bytes that were checked, not whatever the files hold by now (as the cluster primary hands them on).
      const served = materializeTls(next, tls)
      try {
        const { certFile, keyFile, clientAuth } = served.config.server.tls
        await frontend.replaceCertificate({ certFile, keyFile, ...(clientAuth !== undefined && { clientCaPems: readClientCas(clientAuth.caFiles) }) },
          { lingerMs: next.shutdown.lingerMs, drainMs: next.shutdown.drainMs })
      } finally {
        served.remove()
      }
    }
    this.#config = next
    this.#stores = stores
    const previous = this.#handler
    this.#handler = handler
    // The rejections the replaced handler summed since its last line are logged now, not lost with it.
    previous.flushRejections()
    this.#certNotAfterMs = certificate.notAfter.getTime()
    this.#tlsDigest = digest
    return { certificateReplaced }
  }

  #buildStores (config: XksgateConfig): KeyStore[] {
    const indexOf = (name: string): number => {
      const known = this.#storeIndex.get(name)
      if (known !== undefined) return known
      const index = this.#storeIndex.size
      this.#storeIndex.set(name, index)
      return index
    }
    // Each key store's quota is per host: this process holds its share (docs/authorization.md "Quotas").
    return buildKeyStores(config.keyStores, config.auth.maxSkewSeconds, processesOnHost(processCount(config)), indexOf)
  }

  #buildHandler (config: XksgateConfig, stores: readonly KeyStore[]): SummingHandler {
    const { shared } = this
    return createXksHandler({
      stores,
      authenticator: shared.authenticator,
      admission: shared.admission,
      authorize: shared.authorize,
      hsm: shared.hsm,
      health: {
        health: shared.health,
        identity: {
          proxyVendor: config.health.proxyVendor,
          proxyModel: config.health.proxyModel ?? `xksgate ${VERSION}`,
          ekmVendor: config.health.ekmVendor,
        },
        fleetSize: shared.fleetSize,
        maxAgeMs: HEALTH_MAX_AGE_MS,
      },
      limits: config.limits,
      hsmTimeoutMs: shared.hsmTimeoutMs,
      requestTimeoutMs: shared.requestTimeoutMs,
      log: shared.log,
      observe: shared.observe,
      audit: shared.audit,
    })
  }
}

/** One digest of what the TLS listener serves: certificate, key and the client CAs of strict mTLS. */
function tlsDigest (config: XksgateConfig, tls: TlsMaterial): string {
  const clientAuth = config.server.tls.clientAuth
  const cas = clientAuth === undefined ? [] : readClientCas(clientAuth.caFiles)
  return createHash('sha256').update(JSON.stringify([tls.certPem, tls.keyPem.reveal(), cas])).digest('hex')
}
