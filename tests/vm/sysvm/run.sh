#!/bin/bash
# Boot a real systemd as PID 1 in a throw-away QEMU guest (Debian 12's kernel, TCG) with
# the aod health test units installed, and let its job unit run a script.
#
#   run.sh -o OUTDIR -j JOB_SCRIPT -a AOD_BIN -l HEALTH_LOAD_BIN [-t SEC] [-m MB]
#
# The guest's root is the host's / (read-only virtio-9p) under a tmpfs overlay, as in
# ../smbvm (its kernel, modules and initramfs are reused: ../smbvm/setup.sh makes them).
# OUTDIR is shared read-write at the same path; a 64 MiB scratch disk is /dev/vda.
# The job unit (units/aod-health-job.service) runs `bash JOB_SCRIPT` with JOB_OUT, AOD
# and HEALTH_LOAD set and its output in OUTDIR/job.log; the script powers the guest off.
# Exit: 0 when the VM powered off, 124 on timeout, 125 if setup failed, 126 if QEMU failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${SMBVM_DIR:-/var/tmp/aod-smbvm}
OUT='' JOB='' AOD='' LOAD='' TMO=240 MEM=1024
while getopts "o:j:a:l:t:m:h" opt; do
	case $opt in
	o) OUT=$(cd "$OPTARG" && pwd) || exit 2 ;;
	j) JOB=$OPTARG ;; a) AOD=$OPTARG ;; l) LOAD=$OPTARG ;; t) TMO=$OPTARG ;; m) MEM=$OPTARG ;;
	*) sed -n '2,14p' "$0"; exit 2 ;;
	esac
done
[ -n "$OUT" ] && [ -n "$JOB" ] && [ -n "$AOD" ] && [ -n "$LOAD" ] || { sed -n '2,14p' "$0"; exit 2; }
SMBVM_DIR=$DIR "$HERE/../smbvm/setup.sh" >&2 || exit 125
KVER=$(cat "$DIR/kernel/.done")
KIMG=$DIR/kernel/vmlinux; [ -s "$KIMG" ] || KIMG=$DIR/kernel/boot/vmlinuz-$KVER
DISK=$OUT/scratch.img
truncate -s 64M "$DISK" || exit 125

APPEND="console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init systemd.show_status=false"
APPEND+=" smbvm_stage2=$HERE/stage2.sh smbvm_dir=$DIR smbvm_out=$OUT sysvm_out=$OUT"
APPEND+=" sysvm_units=$HERE/units sysvm_job=$JOB sysvm_aod=$AOD sysvm_load=$LOAD"
timeout --foreground -k 5 "$TMO" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m "$MEM" \
	-display none -vga none -monitor none -serial stdio -nic none -no-reboot \
	-kernel "$KIMG" -initrd "$DIR/initramfs.cpio.gz" -append "$APPEND" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$OUT,mount_tag=out,security_model=passthrough,multidevs=remap" \
	-drive "file=$DISK,format=raw,if=virtio,cache=unsafe" < /dev/null 2>&1 |
	sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g'
rc=${PIPESTATUS[0]}
rm -f "$DISK"
[ "$rc" = 124 ] && { echo "run.sh: timeout after ${TMO}s" >&2; exit 124; }
[ "$rc" = 0 ] || { echo "run.sh: qemu exited with $rc" >&2; exit 126; }
exit 0
