/**
 * The TLS policy of the KMS-facing port (docs/xks-spec.md §2): TLS 1.2 or 1.3, with the spec's suites only.
 */

/** TLS 1.2 suites of the spec. TLS 1.0 and 1.1 are refused. */
export const TLS12_CIPHERS = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'
/**
 * TLS 1.3 suites of the spec. OpenSSL's default list also has TLS_AES_128_GCM_SHA256, which is outside it; the
 * node frontend narrows the list to these (uWS's BoringSSL cannot: docs/behaviour.md "TLS").
 */
export const TLS13_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'
export const MIN_TLS_VERSION = 'TLSv1.2'
