#!/usr/bin/env bash
# README's first command: from a fresh machine to a running container.
# Installs dependencies, builds berth (release), creates the busybox:latest fixture from
# Debian's busybox-static, starts the daemon on the default socket (unless one already
# answers there), loads the image and runs a container.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
SOCK=/run/berth/berth.sock
BERTH="$ROOT/target/release/berth"

echo "==> installing dependencies"
bash scripts/install-deps.sh

echo "==> building berth (release)"
cargo build --release -p berth

echo "==> installing shell completion (bash, zsh, fish)"
bash scripts/install-completion.sh "$BERTH"

echo "==> creating the busybox:latest image archive"
mkdir -p target/fixtures
bash scripts/make-busybox-image.sh target/fixtures/busybox.tar busybox:latest

if curl -fsS --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; then
    echo "==> a daemon already answers on $SOCK"
else
    echo "==> starting berth daemon (log: /var/log/berth.log)"
    mkdir -p /run/berth
    nohup "$BERTH" daemon >>/var/log/berth.log 2>&1 </dev/null &
    echo "    pid $!"
    for _ in $(seq 1 100); do
        curl -fsS --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -fsS --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1 || {
        echo "berth daemon did not come up; see /var/log/berth.log" >&2
        tail -20 /var/log/berth.log >&2 || true
        exit 1
    }
fi

echo "==> berth load -i target/fixtures/busybox.tar"
"$BERTH" load -i target/fixtures/busybox.tar

echo "==> berth run --rm busybox echo \"hello from berth\""
"$BERTH" run --rm busybox echo "hello from berth"

cat <<MSG

berth is running. Try:
  $BERTH ps -a
  DOCKER_HOST=unix://$SOCK docker run --rm busybox uname -a
MSG
