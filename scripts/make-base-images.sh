#!/usr/bin/env bash
# make-base-images.sh [OUTDIR]
# Offline stand-ins for the seed Dockerfiles' base images (Docker Hub is not reachable in CI),
# as docker-save archives (see docs/architecture.md, "Tests and benchmarks"):
#   python.tar  python:3.11-slim  debootstrap --variant=minbase bookworm + python3, pip
#   node.tar    node:18-alpine    busybox rootfs + the host's node/npm and their libraries
#   golang.tar  golang:1.19-alpine busybox rootfs + Debian's Go 1.19 toolchain
# Honestly smaller than the official images: python.tar is Debian's python3 (3.11, whatever
# the tag says; tests also tag it 3.9-slim and 3.8-slim), EXTERNALLY-MANAGED removed since the
# official image's pip installs system-wide, docs/man/apt lists dropped; node.tar (also
# 16-alpine, 14) is the CI's node with the libraries ldd names, npm, /usr/bin/env, shell
# stand-ins for busybox's addgroup/adduser (fixtures/alpine-shims: Debian's busybox-static
# leaves them out) and a global npmrc turning audit/fund/update checks off; golang.tar has no
# precompiled std and no tests/testdata, GOPATH=/go. Not run offline, on purpose: seed 001's
# python:3.9-slim (apt-get needs Debian's mirror) and its `FROM alpine:latest` stage (apk; the
# test builds --target builder), 004's nginx:latest (build.rs builds it on busybox instead).
# Results are cached in OUTDIR (default target/fixtures/base-<hash of these scripts>): a rerun
# with unchanged scripts only prints the directory. Prints the directory on stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
HASH=$(cat "$HERE/make-base-images.sh" "$HERE/fixtures/base_images.py" \
    "$HERE/fixtures/busybox_image.py" "$HERE/fixtures/dockerarchive.py" \
    "$HERE"/fixtures/alpine-shims/* | sha256sum | cut -c1-16)
OUT="${1:-$ROOT/target/fixtures/base-$HASH}"
if [ -f "$OUT/done" ]; then echo "$OUT"; exit 0; fi
log() { echo "make-base-images: $*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /usr/lib/go-1.19/bin/go ] || need+=(golang-1.19-go)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
[ -x /bin/busybox ] || need+=(busybox-static)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d "$(dirname "$OUT")/.base-work.XXXXXX")
trap '$SUDO rm -rf "$WORK"' EXIT
mkdir -p "$WORK/out"

# Copies a host binary and the shared libraries it loads into the staging dir $1.
with_libs() {
    local dest=$1 bin=$2 lib
    for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
        mkdir -p "$dest$(dirname "$lib")"
        cp -L "$lib" "$dest$lib"
    done
}

# --- python:3.11-slim: a Debian bookworm minbase rootfs with python3 and pip. The official
# image's python lives in /usr/local and is not "externally managed"; Debian's is, so the
# marker goes (pip install works as in the official image) and `python` points at python3.
log "debootstrap bookworm (minbase + python3)"
T0=$(date +%s)
$SUDO debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3 \
    bookworm "$WORK/debian" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
$SUDO rm -f "$WORK"/debian/usr/lib/python3*/EXTERNALLY-MANAGED
$SUDO rm -rf "$WORK"/debian/var/cache/apt/*.bin "$WORK"/debian/usr/share/doc/* \
    "$WORK"/debian/usr/share/man/* "$WORK"/debian/usr/share/locale/*
log "debootstrap took $(( $(date +%s) - T0 ))s"
$SUDO python3 "$HERE/fixtures/base_images.py" debian "$WORK/debian" "$WORK/out/python.tar" \
    python:3.11-slim >/dev/null

# --- node:18-alpine: busybox (alpine's userland is busybox too) + node and npm.
NODE=$(readlink -f "$(command -v node)")
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
S="$WORK/node"
mkdir -p "$S/usr/local/bin" "$S/usr/local/lib" "$S/usr/local/etc" "$S/usr/sbin" "$S/usr/bin"
cp "$NODE" "$S/usr/local/bin/node"
with_libs "$S" "$NODE"
mkdir -p "$S/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$S/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$S/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$S/usr/local/bin/npx"
ln -s /bin/busybox "$S/usr/bin/env"
cp "$HERE"/fixtures/alpine-shims/addgroup "$HERE"/fixtures/alpine-shims/adduser "$S/usr/sbin/"
# No registry is reachable from the tests: npm must not try the audit/fund/update endpoints.
printf 'audit=false\nfund=false\nupdate-notifier=false\noffline=true\n' \
    >"$S/usr/local/etc/npmrc"
NODE_VERSION=$("$NODE" --version | tr -d v)
python3 "$HERE/fixtures/base_images.py" alpine "$S" "$WORK/out/node.tar" node:18-alpine \
    "[\"$(echo 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')\", \"NODE_VERSION=$NODE_VERSION\"]" \
    '["node"]' >/dev/null

# --- golang:1.19-alpine: busybox + Debian's Go 1.19 toolchain in /usr/local/go, without the
# precompiled std (Go uses its build cache, as the official images since 1.20) and the tests.
GOROOT=/usr/lib/go-1.19
S="$WORK/golang"
mkdir -p "$S/usr/local/go/pkg" "$S/go/bin" "$S/go/src"
cp -aL "$GOROOT/bin" "$GOROOT/VERSION" "$GOROOT/src" "$GOROOT/api" "$GOROOT/misc" "$S/usr/local/go/"
cp -aL "$GOROOT/pkg/tool" "$GOROOT/pkg/include" "$S/usr/local/go/pkg/"
find "$S/usr/local/go/src" -name testdata -type d -prune -exec rm -rf {} +
find "$S/usr/local/go/src" -name '*_test.go' -delete
with_libs "$S" "$GOROOT/bin/go"
GO_VERSION=$(cut -c3- "$GOROOT/VERSION" | head -1)
python3 "$HERE/fixtures/base_images.py" alpine "$S" "$WORK/out/golang.tar" golang:1.19-alpine \
    "[\"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"GOLANG_VERSION=$GO_VERSION\", \"GOPATH=/go\"]" \
    '["/bin/sh"]' /go >/dev/null

touch "$WORK/out/done"
rm -rf "$OUT"
mv "$WORK/out" "$OUT"
echo "$OUT"
