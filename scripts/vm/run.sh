#!/usr/bin/env bash
# run.sh OUTDIR
# Boots the cgroup v2 test host (scripts/vm/build-image.sh, built and cached on first use)
# and runs OUTDIR/job.sh in it as root under systemd; OUTDIR/job.log and OUTDIR/job.rc hold
# its output and exit status afterwards, OUTDIR/console.log the guest's serial console.
# The repository (this checkout) is shared read-only at its own path and OUTDIR read-write at
# its own path (9p), so paths compiled into test binaries hold in the guest.
#
# Acceleration: KVM when /dev/kvm is usable and the guest boots under it within
# BERTH_VM_KVM_BOOT seconds (default 30; nested KVM can hang), else TCG software emulation.
# Env: BERTH_VM_ACCEL=auto|kvm|tcg (auto), BERTH_VM_CPUS (2, at most 2), BERTH_VM_MEM (MiB,
#      3072), BERTH_VM_TIMEOUT (seconds for the whole job, 3600), BERTH_VM_IMAGE (image dir;
#      default target/vm/image-<hash of the image scripts>).
# Exits 0 when the job ran (whatever its status: read job.rc), 2 when the VM failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$(dirname "$HERE")")"
OUT=$(cd "${1:?usage: run.sh OUTDIR}" && pwd)
log() { echo "vm/run: $*" >&2; }
[ -f "$OUT/job.sh" ] || { log "$OUT/job.sh missing"; exit 2; }
command -v qemu-system-x86_64 >/dev/null || {
    log "installing qemu-system-x86"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
}

HASH=$(cat "$HERE/build-image.sh" "$HERE/guest-job" | sha256sum | cut -c1-12)
IMG="${BERTH_VM_IMAGE:-$ROOT/target/vm/image-$HASH}"
if [ ! -f "$IMG/done" ]; then
    # One builder at a time (parallel CI jobs share target/).
    mkdir -p "$ROOT/target/vm"
    (
        flock 9
        [ -f "$IMG/done" ] || bash "$HERE/build-image.sh" "$IMG"
    ) 9>"$ROOT/target/vm/.build.lock"
fi

CPUS="${BERTH_VM_CPUS:-2}"
[ "$CPUS" -le 2 ] || CPUS=2
MEM="${BERTH_VM_MEM:-3072}"
TIMEOUT="${BERTH_VM_TIMEOUT:-3600}"
KVM_BOOT="${BERTH_VM_KVM_BOOT:-30}"
ACCEL="${BERTH_VM_ACCEL:-auto}"
APPEND="console=ttyS0 root=LABEL=berthvm rw quiet loglevel=4 systemd.show_status=1
 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all mitigations=off
 berth.repo=$ROOT berth.out=$OUT"

QPID=""
stop_qemu() {
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
        kill -TERM "$QPID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$QPID" 2>/dev/null || true
    fi
    [ -n "$QPID" ] && wait "$QPID" 2>/dev/null || true
    QPID=""
}
trap stop_qemu EXIT

# boot ACCEL: starts qemu in the background (QPID).
boot() {
    local accel=$1 cpu
    rm -f "$OUT/booted" "$OUT/job.rc" "$OUT/job.log"
    if [ "$accel" = kvm ]; then cpu=host; else cpu=max; accel="tcg,thread=multi"; fi
    qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp "$CPUS" -m "$MEM" \
        -nodefaults -display none -no-reboot -nic none \
        -serial "file:$OUT/console.log" \
        -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "$(echo $APPEND)" \
        -drive "file=$IMG/rootfs.img,if=virtio,format=raw,snapshot=on,cache=unsafe" \
        -device virtio-rng-pci \
        -virtfs "local,path=$ROOT,mount_tag=repo,security_model=none,readonly=on" \
        -virtfs "local,path=$OUT,mount_tag=out,security_model=none" \
        >"$OUT/qemu.log" 2>&1 &
    QPID=$!
}

# wait_for FILE SECONDS: 0 when FILE appeared, 1 when qemu exited or time ran out.
wait_for() {
    local f=$1 end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ -e "$f" ] && return 0
        kill -0 "$QPID" 2>/dev/null || { [ -e "$f" ] && return 0; return 1; }
        sleep 1
    done
    return 1
}

# wait_for_text FILE TEXT SECONDS: 0 when FILE contains TEXT.
wait_for_text() {
    local end=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$QPID" 2>/dev/null || return 1
        sleep 1
    done
    return 1
}

kvm_usable() {
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
    # SeaBIOS says "Running on KVM" on its debug port within a second when KVM runs guests.
    local probe; probe=$(mktemp)
    timeout -k 2 10 qemu-system-x86_64 -accel kvm -m 32 -display none -nodefaults \
        -chardev "file,id=dbg,path=$probe" -device isa-debugcon,iobase=0x402,chardev=dbg \
        >/dev/null 2>&1 &
    local p=$! ok=1
    for _ in $(seq 30); do
        grep -q "Running on KVM" "$probe" 2>/dev/null && { ok=0; break; }
        sleep 0.2
    done
    kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null || true
    rm -f "$probe"
    return $ok
}

T0=$(date +%s)
used=""
if [ "$ACCEL" != tcg ] && kvm_usable; then
    log "booting under KVM"
    boot kvm
    # systemd greets on the console a few seconds into a KVM boot; where nested KVM hangs
    # (in the kernel's switch to long mode, right after "Probing EDD") nothing comes.
    if wait_for_text "$OUT/console.log" "Welcome to" "$KVM_BOOT" && wait_for "$OUT/booted" 300; then
        used=kvm
    else
        log "the guest did not boot under KVM within ${KVM_BOOT}s (nested KVM hangs on some hosts): falling back to TCG"
        stop_qemu
        mv -f "$OUT/console.log" "$OUT/console-kvm.log" 2>/dev/null || true
        [ "$ACCEL" = kvm ] && exit 2
    fi
fi
if [ -z "$used" ]; then
    log "booting under TCG (software emulation, $CPUS vCPUs)"
    boot tcg
    if ! wait_for "$OUT/booted" 600; then
        log "the guest did not boot under TCG within 600s"; tail -30 "$OUT/console.log" >&2; exit 2
    fi
    used=tcg
fi
echo "$used" > "$OUT/accel"
log "booted under $used after $(( $(date +%s) - T0 ))s; running the job"
if ! wait_for "$OUT/job.rc" "$TIMEOUT"; then
    log "the job did not finish within ${TIMEOUT}s"; tail -30 "$OUT/console.log" >&2; exit 2
fi
# The guest powers off after the job; give it a moment, then stop qemu regardless.
for _ in $(seq 30); do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
log "job finished with status $(cat "$OUT/job.rc") after $(( $(date +%s) - T0 ))s under $used"
exit 0
