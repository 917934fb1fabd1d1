#!/usr/bin/env bash
# Makes sure the base images prowler-task/Dockerfile builds FROM are there for
# one platform: python:<PYTHON_VERSION>-slim-bookworm (the task) and
# golang:<GO_VERSION>-bookworm (the entrypoint's build stage, which runs on
# the build platform). An image already stored is used as it is (a second run
# is a few seconds); one that is absent is pulled; when no registry answers, a
# local stand-in is built and tagged with the same name:
#   python   debootstrap --variant=minbase bookworm + python3, venv, pip, CA bundle
#   golang   the same root file system + the Go toolchain of the Go module
#            proxy (golang.org/toolchain@v0.0.1-go<version>.linux-<arch>)
# The Debian mirror is the host's own (the first URIs / deb line of its apt
# sources); GOPROXY is the host's `go env GOPROXY`.
#
# usage: scripts/base-images.sh <docker|podman> [linux/amd64|linux/arm64]
# It prints, on its last line, the two image names to build with:
#   <python image> <golang image>
# On the host's architecture they are the Dockerfile's FROM names; for another
# architecture the stand-ins carry an arch suffix (a tag holds one platform
# here), which scripts/image.sh passes as PYTHON_IMAGE/GO_IMAGE build args.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
engine=${1:?usage: base-images.sh <docker|podman> [platform]}
host_arch=$(uname -m)
case "$host_arch" in x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; esac
platform=${2:-linux/$host_arch}
arch=${platform#linux/}
case "$arch" in amd64 | arm64) ;; *) echo "base-images: platform $platform: only linux/amd64 and linux/arm64" >&2; exit 2 ;; esac

dockerfile="$root/prowler-task/Dockerfile"
arg() { sed -n "s/^ARG $1=\(.*\)$/\1/p" "$dockerfile" | head -1; }
python_version=$(arg PYTHON_VERSION)
go_version=$(arg GO_VERSION)
[ -n "$python_version" ] && [ -n "$go_version" ] || { echo "base-images: no ARG PYTHON_VERSION/GO_VERSION in $dockerfile" >&2; exit 1; }
python_image="python:${python_version}-slim-bookworm"
go_image="golang:${go_version}-bookworm"
if [ "$arch" != "$host_arch" ]; then
  python_image="localhost/citadel-standin/python:${python_version}-slim-bookworm-$arch"
fi
# The Go stage runs on the build platform: its image is always the host's.

cache="${CITADEL_BASE_CACHE:-$root/.run/base-images}"
log() { echo "base-images: $*" >&2; }

image_arch() { "$engine" image inspect --format '{{.Architecture}}' "$1" 2>/dev/null || true; }

# have <image> <arch>: stored for that architecture (or pulled now).
have() {
  local got
  got=$(image_arch "$1")
  if [ "$got" = "$2" ]; then return 0; fi
  if [ -n "$got" ]; then
    log "$1 is stored for $got, not $2: replacing it"
    return 1
  fi
  case "$1" in localhost/citadel-standin/*) return 1 ;; esac
  log "$1 is not stored: trying to pull it"
  if timeout "${BASE_PULL_TIMEOUT:-120}" "$engine" pull --platform "linux/$2" "$1" >&2 2>&1; then
    [ "$(image_arch "$1")" = "$2" ] && return 0
  fi
  log "$1 cannot be pulled: building a stand-in"
  return 1
}

# The host's Debian mirror, from its apt sources (deb822 or one-line format).
mirror() {
  local m
  m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
  [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}' | grep -v -- '-security' | head -1 || true)
  [ -n "$m" ] || { log "no Debian mirror in the host's apt sources"; exit 1; }
  echo "$m"
}

need() {
  command -v "$1" >/dev/null && return 0
  log "installing $2"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null
}

# rootfs <arch>: a minimal bookworm with python3, venv, pip and the CA bundle,
# kept as a tarball in the cache (the stand-ins of both images start from it).
rootfs() {
  local a=$1
  local tarball="$cache/bookworm-python-$a.tar"
  if [ -s "$tarball" ]; then echo "$tarball"; return; fi
  need debootstrap debootstrap
  mkdir -p "$cache"
  local dir
  dir=$(mktemp -d "$cache/rootfs-$a.XXXXXX")
  log "debootstrap bookworm ($a) into $dir"
  local start=$SECONDS
  debootstrap --variant=minbase --arch="$a" \
    --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
    bookworm "$dir" "$(mirror)" >"$dir.log" 2>&1 || { log "debootstrap failed; see $dir.log"; exit 1; }
  # What an image does not need: apt's lists and caches, docs, man pages.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*.log
  tar -C "$dir" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$dir" "$dir.log"
  log "rootfs $a: $(du -h "$tarball" | cut -f1) in $((SECONDS - start))s"
  echo "$tarball"
}

# binfmt <arch>: runs foreign binaries through qemu-user-static (debootstrap's
# second stage and the arm64 build's RUN steps).
binfmt() {
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  if [ "$1" = arm64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    if command -v update-binfmts >/dev/null; then update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true; fi
    # Debian's qemu-user-static ships the registration line for systemd-binfmt.
    local conf
    for conf in /usr/lib/binfmt.d/qemu-aarch64.conf /usr/lib/binfmt.d/qemu-aarch64-static.conf; do
      [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ -e "$conf" ] || continue
      grep '^:qemu-aarch64:' "$conf" >/proc/sys/fs/binfmt_misc/register 2>/dev/null || true
    done
  fi
  [ "$1" != arm64 ] || [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { log "cannot register qemu-aarch64 with binfmt_misc"; exit 1; }
}

# A foreign platform's RUN steps (debootstrap's second stage, the image's
# pip install) run under qemu-user-static.
if [ "$arch" != "$host_arch" ]; then
  need qemu-aarch64-static qemu-user-static
  binfmt "$arch"
fi

import() { # import <tarball> <arch> <tag> <change>...
  local tarball=$1 a=$2 tag=$3
  shift 3
  local changes=()
  for c in "$@"; do changes+=(--change "$c"); done
  if [ "$engine" = podman ]; then
    podman import --arch "$a" "${changes[@]}" "$tarball" "$tag" >/dev/null
  else
    docker import --platform "linux/$a" "${changes[@]}" "$tarball" "$tag" >/dev/null
  fi
}

# The python stand-in: the rootfs as it is. The official image's python is
# /usr/local/bin/python3; here it is Debian's /usr/bin/python3 (the Dockerfile
# only needs python3 with venv on PATH).
if ! have "$python_image" "$arch"; then
  start=$SECONDS
  tarball=$(rootfs "$arch")
  import "$tarball" "$arch" "$python_image" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'ENV LANG=C.UTF-8' 'CMD ["python3"]'
  log "built $python_image ($arch) in $((SECONDS - start))s"
fi

# The golang stand-in: the rootfs + /usr/local/go, the newest go<GO_VERSION>.N
# toolchain the Go module proxy has (the host's own Go when it is one).
if ! have "$go_image" "$host_arch"; then
  start=$SECONDS
  tarball=$(rootfs "$host_arch")
  command -v go >/dev/null || { log "go is needed on the host to fetch the Go toolchain"; exit 1; }
  toolchain=$(go env GOVERSION)
  case "$toolchain" in
    "go$go_version" | "go$go_version".*) ;;
    *) toolchain=$(go list -m -versions -json golang.org/toolchain |
      python3 -c 'import json,sys,re; v=json.load(sys.stdin)["Versions"]; p=re.compile(r"v0\.0\.1-(go"+re.escape(sys.argv[1])+r"(\.\d+)?)\.linux-"); m=[x for x in (p.match(s) for s in v) if x]; print(max(m,key=lambda x:int((x.group(2) or ".0")[1:])).group(1) if m else "")' "$go_version") ;;
  esac
  [ -n "$toolchain" ] || { log "no go$go_version toolchain on the Go module proxy"; exit 1; }
  dir=$(go mod download -json "golang.org/toolchain@v0.0.1-$toolchain.linux-$host_arch" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work=$(mktemp -d "$cache/golang.XXXXXX")
  cp "$tarball" "$work/rootfs.tar"
  mkdir -p "$work/usr/local" "$work/go"
  cp -r "$dir" "$work/usr/local/go"
  chmod -R u+w,a+rX "$work/usr/local/go"
  # The module zip keeps no exec bits: the toolchain's programs get them back.
  chmod a+x "$work"/usr/local/go/bin/* "$work"/usr/local/go/pkg/tool/*/*
  tar -C "$work" --numeric-owner --owner=0 --group=0 -rf "$work/rootfs.tar" ./usr/local/go ./go
  import "$work/rootfs.tar" "$host_arch" "$go_image" \
    'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV GOLANG_VERSION='"${toolchain#go}" 'ENV GOPATH=/go' 'ENV GOTOOLCHAIN=local' 'WORKDIR /go'
  rm -rf "$work"
  log "built $go_image ($toolchain, $host_arch) in $((SECONDS - start))s"
fi
echo "$python_image $go_image"
