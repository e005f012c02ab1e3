#!/usr/bin/env bash
# install-tools.sh: installs what imagebot needs on a fresh Debian 12 machine.
# Idempotent: run it as often as you like; it only does what is missing.
#
#   - QEMU, qemu-img, debootstrap and friends from apt (when run as root or with sudo)
#   - a pinned Packer, built from the Go module proxy, into .tools/bin
#   - a pinned MinIO server, built the same way, into .tools/bin
#   - a pinned cosign, built the same way, into .tools/bin: the third-party
#     check that imagebot's signed provenance is standard (runner/attest)
#
# Usage: deploy/install-tools.sh [--no-apt] [--with-browser] [--with-postgres]
set -euo pipefail

PACKER_VERSION="${PACKER_VERSION:-v1.9.4}"
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
COSIGN_VERSION="${COSIGN_VERSION:-v2.6.5}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
mkdir -p "$bin"

apt_pkgs=(qemu-system-x86 qemu-utils debootstrap e2fsprogs fdisk xorriso openssh-client ca-certificates git curl time)
with_apt=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) with_apt=0 ;;
    --with-browser) apt_pkgs+=(chromium chromium-driver) ;;
    --with-postgres) apt_pkgs+=(postgresql) ;;
    *) echo "install-tools: unknown argument $arg" >&2; exit 2 ;;
  esac
done

log() { printf 'install-tools: %s\n' "$*" >&2; }

install_apt() {
  local missing=()
  for p in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || { log "apt packages present"; return; }
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  log "apt installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# go_build_pinned NAME MODULE VERSION PACKAGE: builds PACKAGE of MODULE@VERSION into $bin/NAME.
# `go install pkg@version` does not work against this proxy (it refuses to list
# versions), so a throwaway module requires the version and builds the package.
go_build_pinned() {
  local name=$1 module=$2 version=$3 pkg=$4
  local stamp="$bin/.$name.version"
  if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    log "$name $version present"
    return
  fi
  log "building $name $version from the Go module proxy (takes a few minutes)"
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  (
    cd "$work"
    go mod init "imagebot.local/build-$name" >/dev/null 2>&1
    go get "$module@$version" >get.log 2>&1 || { cat get.log >&2; exit 1; }
    CGO_ENABLED=0 go build -trimpath -o "$bin/$name.tmp" "$pkg"
  )
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$version" >"$stamp"
}

((with_apt)) && install_apt
go_build_pinned packer github.com/hashicorp/packer "$PACKER_VERSION" github.com/hashicorp/packer
go_build_pinned minio github.com/minio/minio "$MINIO_VERSION" github.com/minio/minio
# About 4.5 min of CPU here (wall 16 min on a machine shared with other builds).
go_build_pinned cosign github.com/sigstore/cosign/v2/cmd/cosign "$COSIGN_VERSION" github.com/sigstore/cosign/v2/cmd/cosign
log "done: $("$bin/packer" version | head -n1), minio, cosign $COSIGN_VERSION in $bin"
