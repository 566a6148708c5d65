#!/usr/bin/env bash
# make-busybox-image.sh OUT.tar [REF]
# Builds a busybox image archive (docker 25+ `docker save` layout) from Debian's
# busybox-static, without any registry or dockerd. Deterministic: prints the image id, which
# is the same on every machine with the same busybox-static version.
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 OUT.tar [REF]" >&2; exit 2; fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BB=/bin/busybox
if ! "$BB" --list >/dev/null 2>&1; then
    echo "make-busybox-image: $BB missing: run scripts/install-deps.sh (busybox-static)" >&2
    exit 1
fi
if file -L "$BB" 2>/dev/null | grep -q 'dynamically linked'; then
    echo "make-busybox-image: $BB is not static: install busybox-static" >&2
    exit 1
fi
exec python3 "$HERE/fixtures/busybox_image.py" "$1" "${2:-busybox:latest}" "$BB"
