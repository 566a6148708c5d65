# Sourced by scripts/bench.sh (section "registry"): pull and push of a multi-layer image of
# ~200 MB (busybox + 6 x 32 MiB layers, mostly random bytes; target/fixtures/bench-big.tar,
# made once) against private docker-registry instances on 127.0.0.1, berth and the bench's
# dockerd side by side.
#   pull: a seed registry holds the image (pushed once by docker, so its layers are gzip as
#         any registry's are); each run pulls into an empty image store (rmi before, and the
#         data root's size is checked: the layers are really gone); median of BENCH_REG_RUNS.
#   push: the pulled image to an empty registry (new storage and port per run); median.
#   first push of the loaded image (plain layers: both engines gzip them), one run: berth
#         keeps its gzip copies, so only the first push pays for compression.
# Uses bench.sh's cli, die, has, now, free_port, median, stop_pid, $B, $ENGINES, $ROOT.

REG_RUNS="${BENCH_REG_RUNS:-5}"
BIG="$ROOT/target/fixtures/bench-big.tar"
REG_PIDS=()
declare -A REG_PULL REG_PUSH REG_PUSH_PLAIN

bench_registry_cleanup() { local p; for p in "${REG_PIDS[@]}"; do stop_pid "$p"; done; }

# reg_start DIR: starts a docker-registry storing under DIR; sets REG_PORT and REG_PID.
reg_start() {
    local dir=$1
    mkdir -p "$dir/data"
    REG_PORT=$(free_port)
    cat >"$dir/config.yml" <<CFG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
CFG
    /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    REG_PID=$!
    REG_PIDS+=("$REG_PID")
    for _ in $(seq 1 150); do
        curl -fsS --max-time 1 "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tail -5 "$dir/log" >&2
    die "docker-registry did not start"
}

root_of() { if [ "$1" = berth ]; then echo "$B/berth/root"; else echo "$B/docker/root"; fi; }
mib_used() { du -sm "$1" 2>/dev/null | cut -f1; }
elapsed_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

echo "==> (g) registry pull/push of a ~200 MB image, $REG_RUNS runs each"
command -v docker-registry >/dev/null || die "docker-registry missing: run scripts/install-deps.sh"
if [ ! -s "$BIG" ]; then
    mkdir -p "$(dirname "$BIG")"
    python3 "$ROOT/scripts/fixtures/big_image.py" "$BIG.tmp" "$FIXTURE" >/dev/null || die "making $BIG failed"
    mv "$BIG.tmp" "$BIG"
fi
reg_start "$B/reg-seed"
SEED="127.0.0.1:$REG_PORT/bench/big:latest"
# The seed registry gets gzip layers, as a real registry has: docker compresses on push.
seeder=docker; has docker || seeder=berth
cli $seeder load -i "$BIG" >/dev/null || die "$seeder: load of $BIG failed"
cli $seeder tag bench/big:latest "$SEED"
cli $seeder push "$SEED" >/dev/null || die "$seeder: seeding push failed"
cli $seeder rmi bench/big:latest "$SEED" >/dev/null || die "$seeder: rmi failed"

for e in $ENGINES; do
    root=$(root_of "$e")
    base=$(mib_used "$root")
    times=""
    for i in $(seq "$REG_RUNS"); do
        cli "$e" rmi -f "$SEED" >/dev/null 2>&1 || true
        sync
        now_used=$(mib_used "$root")
        [ $((now_used - base)) -lt 50 ] || die "$e: $((now_used - base)) MiB still in $root after rmi"
        t0=$(now)
        cli "$e" pull -q "$SEED" >/dev/null || die "$e: pull failed"
        t1=$(now)
        [ $(($(mib_used "$root") - base)) -ge 150 ] || die "$e: the pull stored less than 150 MiB"
        times+="$(elapsed_ms "$t0" "$t1")"$'\n'
    done
    REG_PULL[$e]=$(printf '%s' "$times" | median)
    echo "    $e pull (ms): $(printf '%s' "$times" | tr '\n' ' ')"
    out=$(cli "$e" run --rm --network none "$SEED" sh -c 'ls /data5 | wc -l') || die "$e: run of the pulled image failed"
    [ "$out" = 7 ] || die "$e: the pulled image lacks its files ($out)"

    times=""
    for i in $(seq "$REG_RUNS"); do
        dir="$B/reg-push-$e-$i"
        reg_start "$dir"
        target="127.0.0.1:$REG_PORT/bench/big:latest"
        cli "$e" tag "$SEED" "$target"
        t0=$(now)
        cli "$e" push "$target" >/dev/null || die "$e: push failed"
        t1=$(now)
        times+="$(elapsed_ms "$t0" "$t1")"$'\n'
        cli "$e" rmi "$target" >/dev/null
        [ "$(mib_used "$dir/data")" -ge 100 ] || die "$e: the registry holds less than 100 MiB after the push"
        stop_pid "$REG_PID"
        rm -rf "$dir"
    done
    REG_PUSH[$e]=$(printf '%s' "$times" | median)
    echo "    $e push (ms): $(printf '%s' "$times" | tr '\n' ' ')"
    cli "$e" rmi -f "$SEED" >/dev/null 2>&1 || true
done

for e in $ENGINES; do
    cli "$e" load -i "$BIG" >/dev/null || die "$e: load of $BIG failed"
    dir="$B/reg-plain-$e"
    reg_start "$dir"
    target="127.0.0.1:$REG_PORT/bench/plain:latest"
    cli "$e" tag bench/big:latest "$target"
    t0=$(now)
    cli "$e" push "$target" >/dev/null || die "$e: push of the loaded image failed"
    t1=$(now)
    REG_PUSH_PLAIN[$e]=$(elapsed_ms "$t0" "$t1")
    echo "    $e first push of the loaded image (ms): ${REG_PUSH_PLAIN[$e]}"
    cli "$e" rmi -f bench/big:latest "$target" >/dev/null 2>&1 || true
    stop_pid "$REG_PID"
    rm -rf "$dir"
done
