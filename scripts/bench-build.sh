#!/usr/bin/env bash
# Dockerfile builds: berth vs a real dockerd's classic builder (DOCKER_BUILDKIT=0), side by
# side in one run, same busybox image and the same docker CLI driving both:
#   (a) cold: a multi-stage build of a small app (3 stages, several RUN and COPY steps)
#   (b) no-op: the same build again, nothing changed (everything from the cache)
#   (c) one source file changed: only the steps after its COPY rerun
# Each figure is the median of BENCH_BUILD_RUNS (default 5) runs, wall time of the docker CLI.
# Figures are reported, not asserted. Env: BERTH_BIN, BENCH_BUILD_RUNS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BERTH="${BERTH_BIN:-$ROOT/target/release/berth}"
RUNS="${BENCH_BUILD_RUNS:-5}"
B=/tmp/berth-bench-build
FIXTURE="$B/busybox.tar"
die() { echo "bench-build: $*" >&2; exit 1; }
[ -e "$B" ] && die "$B exists (another run, or a stale one: remove it first)"
[ -x "$BERTH" ] || die "$BERTH missing: cargo build --release -p berth"
DOCKERD_PID=""; BERTHD_PID=""
# Private bridges for both daemons: never the host's docker0/berth0 (a dockerd without a
# bridge deletes the host's docker0; a berth daemon on berth0 deletes it at shutdown).
DOCKER_BRIDGE=bbench-dock0; DOCKER_BIP=10.216.4.1/24
BERTH_BRIDGE=bbench-berth0; BERTH_BIP=10.216.5.1/24
dk() { local s=$1; shift; DOCKER_BUILDKIT=0 DOCKER_CONFIG="$B/docker-config" docker -H "unix://$B/$s.sock" "$@"; }
stop_pid() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    set +e
    stop_pid "$BERTHD_PID"; stop_pid "$DOCKERD_PID"
    ip link show "$DOCKER_BRIDGE" >/dev/null 2>&1 && ip link del "$DOCKER_BRIDGE"
    for f in "$B"/berth/root/containers/*/shim.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
    sleep 0.3
    awk -v b="$B/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT
mkdir -p "$B/docker-config" "$B/docker" "$B/berth"
wait_sock() { for _ in $(seq 1 300); do curl -fsS --max-time 2 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
bash scripts/make-busybox-image.sh "$FIXTURE" busybox:latest >/dev/null
ip link add "$DOCKER_BRIDGE" type bridge && ip addr add "$DOCKER_BIP" dev "$DOCKER_BRIDGE" \
    && ip link set "$DOCKER_BRIDGE" up || die "cannot create $DOCKER_BRIDGE"
dockerd --data-root "$B/docker/root" --exec-root "$B/docker/exec" --pidfile "$B/docker/pid" \
    -H "unix://$B/docker.sock" --bridge="$DOCKER_BRIDGE" --iptables=false --ip6tables=false >"$B/docker/log" 2>&1 &
DOCKERD_PID=$!
BERTH_NO_AUTOSTART=1 "$BERTH" daemon --data-root "$B/berth/root" -H "unix://$B/berth.sock" \
    --bridge "$BERTH_BRIDGE" --bip "$BERTH_BIP" >"$B/berth/log" 2>&1 &
BERTHD_PID=$!
wait_sock "$B/docker.sock" || die "dockerd did not start"
wait_sock "$B/berth.sock" || die "berth daemon did not start"
for s in berth docker; do dk $s load -i "$FIXTURE" >/dev/null; done

# The application: a "compiler" stage, a "tests" stage and the final image.
APP="$B/app"
mkdir -p "$APP/src" "$APP/conf"
for i in 1 2 3 4 5; do echo "line $i of module $i" > "$APP/src/mod$i.txt"; done
echo "port=8080" > "$APP/conf/app.conf"
printf '.git\n*.log\n' > "$APP/.dockerignore"
cat > "$APP/Dockerfile" <<'DF'
FROM busybox AS build
WORKDIR /src
COPY conf/ ./conf/
RUN mkdir -p /out && cp conf/app.conf /out/
COPY src/ ./src/
RUN cat src/*.txt > /out/app.bin && wc -l /out/app.bin
RUN sha256sum /out/app.bin > /out/app.sum

FROM busybox AS test
COPY --from=build /out/ /test/
RUN sha256sum -c /test/app.sum 2>/dev/null || (cd / && sha256sum /test/app.bin)

FROM busybox
ENV APP_ENV=production
WORKDIR /app
COPY --from=build /out/ ./
COPY --from=test /test/app.sum ./checked.sum
EXPOSE 8080
USER 1000
CMD ["cat", "/app/app.bin"]
DF

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
time_build() { # time_build SOCK ARGS... -> seconds
    local s=$1; shift
    local t0; t0=$(now)
    dk "$s" build -q "$@" "$APP" >/dev/null || die "$s: build failed"
    awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.4f\n", b - a }'
}
declare -A COLD NOOP CHANGED
for s in berth docker; do
    c=(); n=(); ch=()
    for r in $(seq 1 "$RUNS"); do
        # Cold: no cache (a fresh tag each time, --no-cache), then no-op, then one change.
        c+=("$(time_build "$s" --no-cache -t "app:$r")")
        n+=("$(time_build "$s" -t "app:$r")")
        echo "line 3 of module 3, edit $r $s" > "$APP/src/mod3.txt"
        ch+=("$(time_build "$s" -t "app:$r")")
        dk "$s" run --rm "app:$r" >/dev/null || die "$s: the built image does not run"
    done
    COLD[$s]=$(printf '%s\n' "${c[@]}" | median)
    NOOP[$s]=$(printf '%s\n' "${n[@]}" | median)
    CHANGED[$s]=$(printf '%s\n' "${ch[@]}" | median)
done
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
printf '\n%-44s %12s %12s %8s\n' "build (median of $RUNS, docker CLI, classic builder)" berth dockerd ratio
printf '%-44s %12s %12s %8s\n' "multi-stage, cold (--no-cache)" "$(ms "${COLD[berth]}")" "$(ms "${COLD[docker]}")" "$(ratio "${COLD[berth]}" "${COLD[docker]}")"
printf '%-44s %12s %12s %8s\n' "same build again, nothing changed" "$(ms "${NOOP[berth]}")" "$(ms "${NOOP[docker]}")" "$(ratio "${NOOP[berth]}" "${NOOP[docker]}")"
printf '%-44s %12s %12s %8s\n' "one source file changed" "$(ms "${CHANGED[berth]}")" "$(ms "${CHANGED[docker]}")" "$(ratio "${CHANGED[berth]}" "${CHANGED[docker]}")"
