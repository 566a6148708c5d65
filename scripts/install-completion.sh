#!/usr/bin/env bash
# Installs berth's shell completion (bash, zsh, fish) where each shell looks for it, from the
# scripts the binary prints (`berth completion SHELL`). Usage:
#   scripts/install-completion.sh [BERTH_BINARY]     (default: target/release/berth)
# DESTDIR=/some/root installs under that root instead of / (packaging, tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BERTH="${1:-$PWD/target/release/berth}"
ROOT="${DESTDIR:-}"
SUDO=""
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

install_one() { # SHELL DEST
    $SUDO mkdir -p "$(dirname "$2")"
    "$BERTH" completion "$1" | $SUDO tee "$2" >/dev/null
    echo "install-completion: $1 -> $2"
}
install_one bash "$ROOT/usr/share/bash-completion/completions/berth"
install_one zsh "$ROOT/usr/local/share/zsh/site-functions/_berth"
install_one fish "$ROOT/usr/share/fish/vendor_completions.d/berth.fish"
