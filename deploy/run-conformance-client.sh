#!/usr/bin/env bash
# Runs AWS's official XKS conformance test client (aws-samples/aws-kms-xksproxy-test-client, a separate
# checkout) against a running `npm run dev`, reading endpoint, prefix and credentials from its connection.json.
#   deploy/run-conformance-client.sh /path/to/aws-kms-xksproxy-test-client [.xksgate-dev/connection.json]
# Expected last line: "All 49 tests PASSED." With `npm run dev -- --mtls` (connection.json names clientCertFile) the
# client presents that certificate (its MTLS setting) and also runs its negative mTLS cases: see docs/behaviour.md "mTLS for KMS" for
# what they find.
set -euo pipefail
client_dir=${1:?usage: $0 TEST_CLIENT_DIR [CONNECTION_JSON]}
# The client's own tools. Without uuidgen it sends an empty kmsRequestId, and 25 of its 39 cases then fail with
# a ValidationException that looks like the proxy's fault (seen on a fresh Debian machine): refuse to start instead.
missing=()
for tool in curl:curl jq:jq xxd:xxd uuidgen:uuid-runtime; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]} > 0)); then
  echo "the test client needs: apt-get install ${missing[*]}" >&2
  exit 1
fi
connection=$(realpath "${2:-.xksgate-dev/connection.json}")
[[ -f "$connection" ]] || { echo "no $connection: is npm run dev running?" >&2; exit 1; }
field() { jq -er ".$1" "$connection"; }
mtls=""
if jq -e .clientCertFile "$connection" >/dev/null; then mtls="--key $(field clientKeyFile) --cert $(field clientCertFile)"; fi

endpoint=$(field endpoint)
# The client wants the host without a scheme and the prefix without its slashes and /kms/xks/v1, which it adds.
uri_prefix=$(field uriPrefix)
uri_prefix=${uri_prefix#/}
uri_prefix=${uri_prefix%/kms/xks/v1}
cd "$client_dir"
XKS_PROXY_HOST=${endpoint#https://} \
  URI_PREFIX=$uri_prefix \
  SIGV4_ACCESS_KEY_ID=$(field accessKeyId) \
  SIGV4_SECRET_ACCESS_KEY=$(field secretAccessKey) \
  KEY_ID=$(field keys.encryptDecrypt) \
  ENCRYPT_ONLY_KEY_ID=$(field keys.encryptOnly) \
  DECRYPT_ONLY_KEY_ID=$(field keys.decryptOnly) \
  IMPOTENT_KEY_ID=$(field keys.impotent) \
  SECURE="--cacert $(field caFile)" \
  MTLS=$mtls \
  ./test-xks-proxy -a
