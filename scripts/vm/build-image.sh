#!/usr/bin/env bash
# build-image.sh OUTDIR
# The cgroup v2 test host's disk: a Debian bookworm root filesystem built from Debian
# packages (debootstrap minbase + systemd, dbus, Debian's linux-image-amd64 and the tools the
# integration tests call), as an ext4 image, with the kernel and initrd beside it:
#   OUTDIR/rootfs.img  OUTDIR/vmlinuz  OUTDIR/initrd.img  OUTDIR/done
# The guest boots systemd as PID 1; at the end of boot `berth-vm-job.service` mounts the
# host's 9p shares `repo` and `out` at the paths the kernel command line names
# (berth.repo=, berth.out=), runs OUT/job.sh with its output in OUT/job.log and its exit
# status in OUT/job.rc, and powers the machine off (scripts/vm/run.sh drives this).
# Takes ~5 minutes on a clean machine (mostly debootstrap); the caller caches OUTDIR.
set -euo pipefail
OUT=${1:?usage: build-image.sh OUTDIR}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "vm/build-image: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap, chroot)"; exit 1; }
command -v debootstrap >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d "$(dirname "$OUT")/.vm-work.XXXXXX")
R="$WORK/root"
cleanup() {
    set +e
    for m in proc sys dev/pts dev; do mountpoint -q "$R/$m" && umount -l "$R/$m"; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# systemd + dbus (the systemd cgroup driver talks to systemd), the kernel, and what the
# tests and berth call: ip, nft, iptables, mount tools, ps; runc (engine_lifecycle's OOM
# test runs `--runtime runc` too: OOM detection of a cgroup another runtime owns), tmux
# (interactive.rs, in --full).
PKGS=systemd,systemd-sysv,dbus,udev,kmod,iproute2,nftables,iptables,libseccomp2,procps,util-linux,mount,ca-certificates,python3,curl,runc,tmux
log "debootstrap bookworm"
T0=$(date +%s)
debootstrap --variant=minbase --include="$PKGS" bookworm "$R" http://deb.debian.org/debian \
    >"$WORK/debootstrap.log" 2>&1 || { tail -30 "$WORK/debootstrap.log" >&2; exit 1; }
log "debootstrap took $(( $(date +%s) - T0 ))s"

# A small initrd: only the modules a virtio disk root needs (MODULES=most would carry every
# storage driver, slow to unpack under software emulation).
mkdir -p "$R/etc/initramfs-tools/conf.d"
echo "MODULES=list" > "$R/etc/initramfs-tools/conf.d/berth-vm"
printf '%s\n' virtio_pci virtio_blk virtio_console ext4 crc32c_generic > "$R/etc/initramfs-tools/modules"
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"
mount --bind /dev "$R/dev"; mount --bind /dev/pts "$R/dev/pts"
log "installing linux-image-amd64"
chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    linux-image-amd64 >"$WORK/kernel.log" 2>&1 || { tail -30 "$WORK/kernel.log" >&2; exit 1; }
chroot "$R" apt-get clean
for m in dev/pts dev sys proc; do umount "$R/$m"; done
rm -f "$R/usr/sbin/policy-rc.d"

# The guest's configuration.
echo berthvm > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 berthvm\n::1 localhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
echo 'LABEL=berthvm / ext4 rw,noatime,errors=remount-ro 0 1' > "$R/etc/fstab"
chroot "$R" passwd -d root >/dev/null
# No network needed (tests talk to loopback and their own bridges); nothing periodic.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
         systemd-timesyncd.service getty@tty1.service; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"
done
install -m 0755 "$HERE/guest-job" "$R/usr/local/sbin/berth-vm-job"
cat > "$R/etc/systemd/system/berth-vm-job.service" <<'UNIT'
[Unit]
Description=berth VM job (scripts/vm/run.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/berth-vm-job
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
UNIT
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/berth-vm-job.service "$R/etc/systemd/system/multi-user.target.wants/"
rm -rf "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/locale/* "$R"/var/cache/apt/*.bin

mkdir -p "$WORK/out"
cp -L "$R/vmlinuz" "$WORK/out/vmlinuz"
cp -L "$R/initrd.img" "$WORK/out/initrd.img"
log "making the ext4 image"
truncate -s 4G "$WORK/out/rootfs.img"
mkfs.ext4 -q -L berthvm -d "$R" "$WORK/out/rootfs.img"
date -u +%FT%TZ > "$WORK/out/done"
rm -rf "$OUT"
mv "$WORK/out" "$OUT"
log "image ready in $OUT ($(( $(date +%s) - T0 ))s)"
