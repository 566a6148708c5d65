#!/usr/bin/env bash
# The one installer of berth's shell completion (bash, zsh, fish), used by scripts/install.sh
# and scripts/setup-and-run.sh: the scripts the binary prints (`berth completion SHELL`)
# go where each shell looks for packaged completions on Debian:
#   bash  /usr/share/bash-completion/completions/berth
#   zsh   /usr/share/zsh/vendor-completions/_berth
#   fish  /usr/share/fish/vendor_completions.d/berth.fish
# Usage:
#   scripts/install-completion.sh [BERTH_BINARY]     (default: target/release/berth)
#   scripts/install-completion.sh --uninstall        removes those three files
# DESTDIR=/some/root installs under that root instead of / (packaging, tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="${DESTDIR:-}"
SUDO=""
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
BASH_FILE="$ROOT/usr/share/bash-completion/completions/berth"
ZSH_FILE="$ROOT/usr/share/zsh/vendor-completions/_berth"
FISH_FILE="$ROOT/usr/share/fish/vendor_completions.d/berth.fish"

if [ "${1:-}" = "--uninstall" ]; then
    $SUDO rm -f "$BASH_FILE" "$ZSH_FILE" "$FISH_FILE"
    echo "install-completion: removed bash, zsh and fish completions"
    exit 0
fi
BERTH="${1:-$PWD/target/release/berth}"
if ! "$BERTH" completion bash >/dev/null 2>&1; then
    echo "install-completion: skipped ($BERTH has no 'completion' command)"
    exit 0
fi

install_one() { # SHELL DEST
    $SUDO mkdir -p "$(dirname "$2")"
    "$BERTH" completion "$1" | $SUDO tee "$2" >/dev/null
    echo "install-completion: $1 -> $2"
}
install_one bash "$BASH_FILE"
install_one zsh "$ZSH_FILE"
install_one fish "$FISH_FILE"
