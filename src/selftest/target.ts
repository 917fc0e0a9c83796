/**
 * What the selftest runs against: an endpoint, the key store's URI prefix, one of its credentials, and the keys
 * it may use by role. It comes from a connection file (what `npm run dev` writes) or from a proxy configuration
 * plus an endpoint (src/selftest/load-target.ts).
 */
export interface KeyRoles {
  /** A key allowing ENCRYPT and DECRYPT: every crypto case needs one. */
  encryptDecrypt?: string
  encryptOnly?: string
  decryptOnly?: string
  /** A key allowing neither (the official test client's "impotent" key). */
  impotent?: string
}

/** Client certificate files for mTLS; the CA's key lets the suite mint its own bad certificates. */
export interface ClientTls {
  certFile: string
  keyFile: string
  /** The CA KMS's client certificate must chain to, as the proxy is configured with it. */
  caFile?: string
  caKeyFile?: string
}

export interface Target {
  /** `https://host[:port]`, no path. */
  endpoint: string
  /** The whole XksProxyUriPath, ending in /kms/xks/v1. */
  uriPrefix: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  keys: KeyRoles
  /** The CA that issued the proxy's certificate (default: the system's CAs). */
  caFile?: string
  clientTls?: ClientTls
}
