#!/usr/bin/env bash
# Debian 13's p11-kit and SoftHSM in a directory of their own, for the remote PKCS#11 hop test
# (test/integration/hsm-remote-hop.test.ts) on a machine whose own p11-kit cannot carry AES-GCM: Debian 12's 0.24
# lists no CKM_AES_GCM through its RPC, Debian 13's 0.25 does. `.ci/run` makes it before `npm test`.
#
#   deploy/compat/p11-kit-root.sh [ROOT]      (default: XKSGATE_P11KIT_ROOT, else /var/cache/xksgate-test/p11-kit-trixie)
#
# Not a full Debian root: apt-get (this machine's, with a private state directory) downloads p11-kit,
# p11-kit-modules and libsofthsm2 from trixie with what they depend on, and dpkg-deb -x unpacks them; no package
# script runs. That takes about 25 s where a debootstrap of the same took 162 s (docs/shaped-hsm.md "A real remote
# hop: p11-kit"). The test runs the server chrooted into ROOT (it execs /usr/libexec/p11-kit/p11-kit-remote by that path)
# and the proxy's Node through ROOT's dynamic loader, so that it loads ROOT's client module with ROOT's C library.
# ROOT/<ROOT> is a link to ROOT's top: a path below ROOT names the same file inside the chroot and outside it.
#
# Kept between runs: once ROOT/.xksgate-p11-kit-root exists this does nothing. A failure is written to
# ROOT.failed, which the test quotes when it skips. Environment: DEBIAN_MIRROR (default: this machine's apt mirror,
# else http://deb.debian.org/debian). Needs network to the mirror; not root.
set -uo pipefail
root=${1:-${XKSGATE_P11KIT_ROOT:-/var/cache/xksgate-test/p11-kit-trixie}}
marker=$root/.xksgate-p11-kit-root
[[ -f $marker ]] && { echo "p11-kit root: $root is made already"; exit 0; }
mirror=${DEBIAN_MIRROR:-$(grep -hoE '(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
  head -n 1 | awk '{print $2}')}
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
packages=(p11-kit p11-kit-modules libsofthsm2)
mkdir -p "$(dirname "$root")" || exit 1
work=$(mktemp -d "$root.making.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
log=$work/log

failed() {
  { echo "$1"; tail -n 5 "$log" 2>/dev/null; } >"$root.failed"
  echo "p11-kit root: $1 (written to $root.failed)" >&2
  exit 1
}
started=$SECONDS
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || failed "needs apt-get and dpkg-deb (a Debian machine)"
[[ -f $keyring ]] || failed "no $keyring (debian-archive-keyring) to check trixie's signature with"

apt_dir=$work/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/etc/preferences.d"
touch "$apt_dir/status"
printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$mirror" "$keyring" >"$apt_dir/etc/trixie.sources"
# This machine's apt, told to use nothing of this machine's state: an empty dpkg status (so every dependency down
# to libc6 is downloaded), its own lists and archives, and trixie as its only source.
apt=(apt-get -qq -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache::archives=$apt_dir/archives" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/etc"
  -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
  -o "APT::Install-Recommends=false" -o "APT::Sandbox::User=$(id -un)" -o "Debug::NoLocking=true")
echo "p11-kit root: downloading ${packages[*]} and their dependencies from trixie ($mirror)"
"${apt[@]}" update >"$log" 2>&1 || failed "apt-get update from $mirror (trixie) failed"
"${apt[@]}" install -y --download-only "${packages[@]}" >>"$log" 2>&1 || failed "apt-get download of ${packages[*]} from trixie failed"

tree=$work/root
mkdir -p "$tree"
for deb in "$apt_dir"/archives/*.deb; do
  dpkg-deb -x "$deb" "$tree" 2>>"$log" || failed "dpkg-deb -x $(basename "$deb") failed"
done
# Trixie's packages put everything below /usr: the merged-/usr links debootstrap would make.
for dir in bin sbin lib lib64; do [[ -e $tree/usr/$dir ]] && ln -sfn "usr/$dir" "$tree/$dir"; done
mkdir -p "$tree/tmp" && chmod 1777 "$tree/tmp"
mkdir -p "$tree$(dirname "$root")" && ln -sfn / "$tree$root"

loader=$(find "$tree/usr/lib" -maxdepth 2 -name 'ld-linux*.so.*' -type f | head -n 1)
client=$(find "$tree/usr/lib" -maxdepth 3 -name p11-kit-client.so | head -n 1)
softhsm=$(find "$tree/usr/lib" -maxdepth 3 -name libsofthsm2.so | head -n 1)
[[ -n $loader && -n $client && -n $softhsm && -x $tree/usr/libexec/p11-kit/p11-kit-server ]] ||
  failed "the unpacked packages lack the loader, p11-kit-client.so, libsofthsm2.so or p11-kit-server"
version=$(dpkg-deb -f "$(ls "$apt_dir"/archives/p11-kit_*.deb)" Version)
inside() { echo "${1#"$tree"}"; }
# What the test reads: paths outside the chroot (the loader, its library directory, the client module) and
# inside it (the server, the SoftHSM module it loads).
printf '{"p11KitVersion":"%s","loader":"%s","libraryPath":"%s","clientModule":"%s","server":"%s","softhsmModule":"%s"}\n' \
  "$version" "$root$(inside "$loader")" "$root$(inside "$(dirname "$loader")")" "$root$(inside "$client")" \
  /usr/libexec/p11-kit/p11-kit-server "$(inside "$softhsm")" >"$tree/.xksgate-p11-kit-root"

rm -rf "$root" "$root.failed" && mv "$tree" "$root" || failed "could not move the root into place at $root"
echo "p11-kit root: p11-kit $version and SoftHSM from trixie in $root ($((SECONDS - started)) s)"
