#!/usr/bin/env bash
# install-tools.sh: installs what imagebot needs on a fresh Debian 12 machine.
# Idempotent: run it as often as you like; it only does what is missing.
#
#   - QEMU, qemu-img, debootstrap and friends from apt (when run as root or with sudo)
#   - Ansible from Debian's package (for templates with an ansible provisioner)
#   - /usr/libexec/qemu-kvm (RHEL's path of QEMU, which templates name) -> qemu-system-x86_64
#   - the default Packer (newest the Go module proxy serves) as .tools/bin/packer,
#     and Packer 1.9.4 as .tools/bin/packer-1.9.4 for compatibility tests
#   - the Packer plugins (qemu, vsphere, ansible, amazon), built from the module
#     proxy and installed offline with `packer plugins install --path` into one
#     plugin directory, .tools/packer-plugins (PACKER_PLUGIN_PATH), so that
#     `packer init` is satisfied without any download
#   - a pinned MinIO server, built the same way, into .tools/bin
#   - a pinned cosign, built the same way, into .tools/bin: the third-party
#     check that imagebot's signed provenance is standard (runner/attest)
#   - the Debian 12 installer ISO for images/debian12, made from Debian's
#     debian-installer-12-netboot-amd64 package, into .tools/iso (see docs/installer.md)
#
# Every build is skipped when its version stamp matches, so a rerun is instant.
#
# Usage: deploy/install-tools.sh [--no-apt] [--with-browser] [--with-postgres] [--packer-only]
#
# --packer-only builds only the default Packer and its plugins (into .tools/bin
# and .tools/packer-plugins) and stops: the build-host container image
# (deploy/docker/buildhost.Dockerfile) takes them from there, so the image and
# CI run the same pinned versions.
set -euo pipefail

PACKER_VERSION="${PACKER_VERSION:-v1.14.3}"
PACKER_COMPAT_VERSION="${PACKER_COMPAT_VERSION:-v1.9.4}"
# name=version of each plugin built from github.com/hashicorp/packer-plugin-<name>.
PACKER_PLUGINS=(qemu=v1.0.9 vsphere=v1.4.2 ansible=v1.1.2 amazon=v1.3.4)
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
COSIGN_VERSION="${COSIGN_VERSION:-v2.6.5}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
plugins="$tools/packer-plugins"
plugin_bin="$tools/plugin-bin"
mkdir -p "$bin" "$plugins" "$plugin_bin"
# The checksum database may not know the plugin modules; the proxy still serves them.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/hashicorp/*"

# systemd: systemd-analyze verifies the units in deploy/systemd (works offline,
# systemd need not be PID 1).
apt_pkgs=(qemu-system-x86 qemu-utils debootstrap e2fsprogs xfsprogs fdisk xorriso openssh-client ca-certificates git curl time systemd ansible)
with_apt=1
packer_only=0
for arg in "$@"; do
  case "$arg" in
    --no-apt) with_apt=0 ;;
    --packer-only) packer_only=1 ;;
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

# module_replaces GOMOD: prints each replace directive of GOMOD as OLD=NEW@VERSION
# (or OLD=NEW for a directory replacement, which is skipped as it cannot apply).
module_replaces() {
  awk '
    /^replace[ \t]*\($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    /^replace[ \t]/ { sub(/^replace[ \t]+/, ""); line = $0 }
    inblock { line = $0 }
    line != "" {
      sub(/\/\/.*/, "", line); sub(/^[ \t]+/, "", line)
      n = split(line, f, /[ \t]+/)
      for (i = 1; i <= n; i++) if (f[i] == "=>") arrow = i
      old = f[1]; if (arrow == 3) old = f[1] "@" f[2]
      if (f[arrow + 2] != "") print old "=" f[arrow + 1] "@" f[arrow + 2]
      line = ""; arrow = 0
    }
  ' "$1"
}

# go_build_pinned NAME MODULE VERSION PACKAGE [DIR]: builds PACKAGE of MODULE@VERSION into DIR/NAME
# (DIR defaults to $bin).
# `go install pkg@version` does not work against this proxy (it refuses to list
# versions), so a throwaway module requires the version and builds the package.
go_build_pinned() {
  local name=$1 module=$2 version=$3 pkg=$4 dir=${5:-$bin}
  local stamp="$dir/.$name.version"
  if [[ -x "$dir/$name" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
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
    # A dependency's replace directives do not apply to the module requiring
    # it, yet Packer and its plugins need theirs (go-cty is replaced by a fork
    # with gob encoding): copy them into the throwaway module.
    local r
    while read -r r; do
      [[ -n "$r" ]] && go mod edit -replace="$r"
    done < <(module_replaces "$(go env GOMODCACHE)/cache/download/$module/@v/$version.mod")
    CGO_ENABLED=0 go build -mod=mod -trimpath -o "$dir/$name.tmp" "$pkg"
  )
  mv "$dir/$name.tmp" "$dir/$name"
  echo "$version" >"$stamp"
}

# plugins_current: the plugin directory holds exactly the wanted versions.
plugins_current() {
  [[ -f "$plugins/.versions" && "$(cat "$plugins/.versions")" == "${PACKER_PLUGINS[*]}" ]]
}

# build_plugins: builds every plugin binary in parallel (downloads overlap,
# the compile and link steps share the cores).
build_plugins() {
  local pids=() kv name version failed=0
  for kv in "${PACKER_PLUGINS[@]}"; do
    name=${kv%%=*} version=${kv#*=}
    go_build_pinned "packer-plugin-$name" "github.com/hashicorp/packer-plugin-$name" "$version" \
      "github.com/hashicorp/packer-plugin-$name" "$plugin_bin" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || { log "a plugin build failed"; return 1; }
}

# install_plugins: installs each built plugin into the plugin directory,
# offline: packer reads the binary's `describe` and copies it under
# github.com/hashicorp/<name>/ with its SHA256SUM. The stamp lists the
# versions, so a rerun does nothing.
install_plugins() {
  local kv name
  for kv in "${PACKER_PLUGINS[@]}"; do
    name=${kv%%=*}
    PACKER_PLUGIN_PATH="$plugins" CHECKPOINT_DISABLE=1 "$bin/packer" plugins install \
      --path "$plugin_bin/packer-plugin-$name" "github.com/hashicorp/$name" >&2
  done
  echo "${PACKER_PLUGINS[*]}" >"$plugins/.versions"
}

# --- Debian 12 installer ISO (images/debian12; docs/installer.md) -------------
# Debian ships the netboot installer's kernel and initrd as a package, not as
# an ISO, so the ISO is made here: isolinux boots the text installer and waits
# at its boot: prompt for the image's boot_command to type the preseed URL.
# File dates come from the package (SOURCE_DATE_EPOCH), so the same package
# version gives the same ISO and the same sha256. The .sha256 beside it is
# what the runner puts into the image's digest.
installer_apt_pkgs=(debian-installer-12-netboot-amd64 isolinux syslinux-common xorriso)
make_installer_iso() {
  local iso_dir="$tools/iso" name=debian12-installer-amd64.iso
  local di=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
  local di_version
  if ! di_version="$(dpkg-query -W -f='${Version}' debian-installer-12-netboot-amd64 2>/dev/null)" || [[ ! -f "$di/initrd.gz" ]]; then
    log "cannot make the installer ISO: apt packages ${installer_apt_pkgs[*]} are missing (run without --no-apt)"
    return 1
  fi
  local stamp="$iso_dir/.$name.version"
  mkdir -p "$iso_dir"
  if [[ -f "$iso_dir/$name" && -f "$iso_dir/$name.sha256" && -f "$stamp" && "$(cat "$stamp")" == "$di_version" ]]; then
    log "installer ISO $name ($di_version) present"
    return
  fi
  log "making installer ISO $name from debian-installer-12-netboot-amd64 $di_version"
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  mkdir -p "$work/tree/isolinux" "$work/tree/install"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/tree/isolinux/"
  cp "$di/linux" "$work/tree/install/vmlinuz"
  cp "$di/initrd.gz" "$work/tree/install/initrd.gz"
  # timeout 0: wait at boot: for the boot_command; serial: the prompt shows
  # on the serial console too, which the runner copies into the build log.
  cat >"$work/tree/isolinux/isolinux.cfg" <<'CFG'
serial 0 115200
prompt 1
timeout 0
default install
label install
  kernel /install/vmlinuz
  append initrd=/install/initrd.gz
CFG
  local epoch
  epoch="$(stat -c %Y "$di/initrd.gz")"
  touch -h -d "@$epoch" "$work/tree/isolinux/isolinux.cfg"
  find "$work/tree" -exec touch -h -d "@$epoch" {} +
  SOURCE_DATE_EPOCH="$epoch" xorriso -as mkisofs -quiet -r -J -V DEBIAN12_INSTALLER \
    -o "$work/$name" -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    "$work/tree"
  (cd "$work" && sha256sum "$name" >"$name.sha256")
  mv "$work/$name" "$iso_dir/$name"
  mv "$work/$name.sha256" "$iso_dir/$name.sha256"
  echo "$di_version" >"$stamp"
  log "installer ISO: $iso_dir/$name sha256 $(cut -d' ' -f1 "$iso_dir/$name.sha256")"
}
apt_pkgs+=("${installer_apt_pkgs[@]}")
# --- end Debian 12 installer ISO ----------------------------------------------

((with_apt)) && install_apt

# Templates written on RHEL hosts (seed 003's among them) name QEMU by
# RHEL's path, qemu_binary = "/usr/libexec/qemu-kvm". Give this Debian host
# the same path, pointing at Debian's QEMU, when it is free (root only).
if [[ ! -e /usr/libexec/qemu-kvm && $(id -u) -eq 0 ]] && command -v qemu-system-x86_64 >/dev/null; then
  mkdir -p /usr/libexec && ln -s "$(command -v qemu-system-x86_64)" /usr/libexec/qemu-kvm
  log "linked /usr/libexec/qemu-kvm to $(command -v qemu-system-x86_64)"
fi
start=$SECONDS
# The plugins build beside Packer itself: on a cold module cache most of the
# time is downloads, which overlap.
plugins_pid=""
if ! plugins_current; then
  build_plugins &
  plugins_pid=$!
else
  log "packer plugins present: ${PACKER_PLUGINS[*]}"
fi
go_build_pinned packer github.com/hashicorp/packer "$PACKER_VERSION" github.com/hashicorp/packer
((packer_only)) || go_build_pinned "packer-${PACKER_COMPAT_VERSION#v}" github.com/hashicorp/packer "$PACKER_COMPAT_VERSION" github.com/hashicorp/packer
if [[ -n "$plugins_pid" ]]; then
  wait "$plugins_pid" || exit 1
  install_plugins
fi
log "packer and plugins ready in $((SECONDS - start))s"
if ((packer_only)); then
  log "done (--packer-only): $("$bin/packer" version | head -n1), plugins ${PACKER_PLUGINS[*]} in $plugins"
  exit 0
fi
# MinIO and cosign (about 4.5 min of CPU: the third-party check of imagebot's
# signed provenance, runner/attest) build side by side.
go_build_pinned minio github.com/minio/minio "$MINIO_VERSION" github.com/minio/minio &
minio_pid=$!
go_build_pinned cosign github.com/sigstore/cosign/v2/cmd/cosign "$COSIGN_VERSION" github.com/sigstore/cosign/v2/cmd/cosign &
cosign_pid=$!
wait "$minio_pid" || { log "minio build failed"; exit 1; }
wait "$cosign_pid" || { log "cosign build failed"; exit 1; }
# The Kubernetes API's OpenAPI v3 schemas, which deploy/kubeschema_test.go
# validates the Helm chart against (kubeconform): module k8s.io/kubernetes at
# the release of deploy/go.mod's k8s.io/api (v0.X.Y -> v1.X.Y), into the Go
# module cache (about 20 MB), so that the test reads it offline.
kube_api="$(awk '$1 == "k8s.io/api" { print $2 }' "$root/deploy/go.mod")"
if [[ $kube_api == v0.* ]]; then
  kube_tmp="$(mktemp -d)"
  (cd "$kube_tmp" && GOFLAGS=-mod=mod go mod download "k8s.io/kubernetes@v1.${kube_api#v0.}") || { log "download of k8s.io/kubernetes@v1.${kube_api#v0.} failed"; exit 1; }
  rm -rf "$kube_tmp"
  log "kubernetes API schemas: k8s.io/kubernetes@v1.${kube_api#v0.} in the module cache"
fi
make_installer_iso
log "done: $("$bin/packer" version | head -n1), plugins in $plugins, minio and cosign $COSIGN_VERSION in $bin, installer ISO in $tools/iso"
