#!/usr/bin/env bash
# The whole test suite (README's second command; .ci/run calls exactly this).
# Builds once in release, checks format and lints, then runs every test with nextest
# (parallel processes). Integration tests find the binary and the image fixture through
# BERTH_BIN and BERTH_BUSYBOX_TAR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "fixtures"
FIX="$ROOT/target/fixtures"
mkdir -p "$FIX"
bash scripts/make-busybox-image.sh "$FIX/busybox.tar.tmp" busybox:latest >/dev/null
mv -f "$FIX/busybox.tar.tmp" "$FIX/busybox.tar"
python3 scripts/fixtures/make-bad-archives.py "$FIX/bad"
# The seed Dockerfiles' base images (python/node/golang stand-ins): a few minutes on a clean
# machine, cached under target/fixtures/base-<script hash> afterwards.
BERTH_BASE_IMAGES="$(bash scripts/make-base-images.sh)"
export BERTH_BASE_IMAGES
export BERTH_BUSYBOX_TAR="$FIX/busybox.tar"
export BERTH_BAD_ARCHIVES="$FIX/bad"
export BERTH_BIN="$ROOT/target/release/berth"

step "build (release, once)"
cargo build --release --workspace --all-targets

step "format"
cargo fmt --all --check

step "clippy"
cargo clippy --release --workspace --all-targets -- -D warnings

step "unused dependencies"
# Every declared dependency is used (issue 16); cargo-machete reads the sources, no build.
cargo machete

step "fuzz (short: 20 s per target)"
# Every cargo-fuzz target from the committed corpus: no crash, hang or escape (scripts/fuzz.sh).
FUZZ_SECONDS=20 FUZZ_SEED=1 bash scripts/fuzz.sh

step "tests"
# A hung test must not eat CI's 90 minutes: the whole run is bounded, each test is bounded
# by the harness's own command timeouts.
if cargo nextest --version >/dev/null 2>&1; then
    timeout --kill-after=60 75m \
        cargo nextest run --release --workspace --no-fail-fast --failure-output final \
        --final-status-level slow
else
    echo "cargo-nextest missing: falling back to cargo test" >&2
    timeout --kill-after=60 75m cargo test --release --workspace --no-fail-fast
fi


step "cgroup v2 VM (cgroups + device rules, cgroupfs driver; the OOM test under systemd)"
# Issue 19: the cgroup tests on a pure cgroup v2 host with systemd as PID 1 (this machine
# boots cgroup v1). scripts/test-cgroupv2.sh --ci boots the test VM (qemu; TCG where KVM does
# not work; its image is built once with debootstrap from deb.debian.org, ~6 min, and cached
# under target/vm) and runs tests/cgroups.rs and security's sec_devices there with the
# binaries built above: ~8 min after the image (two consecutive passes on 2 cores, 11 passed),
# and the OOM test once more under the systemd driver (~15-30 s more under TCG).
# Bounded, so a hung guest cannot eat CI's 90 minutes. The systemd driver and the rest of
# the subset: scripts/test-cgroupv2.sh by hand (~30-45 min per driver under TCG).
for tool in qemu-system-x86_64 debootstrap; do
    command -v "$tool" >/dev/null || {
        echo "cgroup v2 VM: $tool missing (scripts/install-deps.sh installs qemu-system-x86 and debootstrap)" >&2
        exit 1
    }
done
BERTH_VM_NO_BUILD=1 BERTH_VM_TIMEOUT=1200 timeout --kill-after=60 25m \
    bash scripts/test-cgroupv2.sh --ci
