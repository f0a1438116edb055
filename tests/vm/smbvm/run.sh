#!/bin/bash
# Run a host command inside a throw-away QEMU guest (Debian 12's kernel, TCG emulation)
# in which a local smbd serves //127.0.0.1/share (read-write) and //127.0.0.1/ro
# (read-only, same directory) and the kernel cifs client has share mounted on /mnt/smb.
#
#   run.sh [options] [--] CMD [ARGS...]
#     -o DIR    share host DIR read-write at the same path in the guest (collect results)
#     -e N=V    export N=V to CMD (repeatable)
#     -n        do not load cifs or mount: CMD does it (tests/vm/_mount.sh); smbd still runs
#     -m MB     guest memory (default 1024)
#     -c N      guest CPUs (default 2)
#     -t SEC    wall-clock timeout for the whole VM (default 600)
#     -v VERS   SMB dialect for mount.cifs (default 3.1.1; e.g. 3.0, 2.1)
#     -O OPTS   extra mount.cifs options (e.g. cache=none,actimeo=0)
#     -d        print the guest's dmesg tail after CMD (and keep kernel messages on the console)
#     -D        print boot phase timestamps
#     -i        interactive: CMD (default bash -i) gets the serial console as stdin
#     -k        use KVM instead of TCG (hangs on PVM-based hosts; for real-KVM machines)
#
# The guest's root is the host's / (read-only virtio-9p) under a tmpfs overlay, so
# every host path (build/aod, these scripts, the checkout) is visible at the same place;
# guest writes outside -o DIR are discarded. CMD runs as root in the host's cwd.
# Output of CMD appears on stdout; run.sh exits with CMD's exit status
# (125 = guest setup failed, 124 = timeout, 126 = VM died without a status).
# Artifacts come from setup.sh, in $SMBVM_DIR (default /var/tmp/aod-smbvm).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${SMBVM_DIR:-/var/tmp/aod-smbvm}
MEM=1024 CPUS=2 TMO=600 VERS=3.1.1 ACCEL=tcg,thread=multi
MOPTS='' OUTDIR='' DMESG='' DEBUG='' INTER='' NOCIFS=''
EXPORTS=()
while getopts "o:e:nm:c:t:v:O:dDikh" opt; do
	case $opt in
	o) OUTDIR=$(cd "$OPTARG" && pwd) || exit 2 ;;
	e) [[ $OPTARG == [A-Za-z_]*=* ]] || { echo "run.sh: -e wants NAME=VALUE" >&2; exit 2; }
	   EXPORTS+=("$OPTARG") ;;
	n) NOCIFS=1 ;;
	m) MEM=$OPTARG ;; c) CPUS=$OPTARG ;; t) TMO=$OPTARG ;;
	v) VERS=$OPTARG ;; O) MOPTS=$OPTARG ;; d) DMESG=1 ;; D) DEBUG=1 ;;
	i) INTER=1 ;; k) ACCEL=kvm ;;
	*) sed -n '2,25p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ ! -f "$DIR/kernel/.done" ] || [ ! -f "$DIR/initramfs.cpio.gz" ] || [ ! -f "$DIR/samba/guest.conf" ]; then
	SMBVM_DIR=$DIR "$HERE/setup.sh" >&2 || exit 125
fi
KVER=$(cat "$DIR/kernel/.done")
KIMG=$DIR/kernel/vmlinux; [ -s "$KIMG" ] || KIMG=$DIR/kernel/boot/vmlinuz-$KVER   # PVH boot saves ~5 s
[ $# -eq 0 ] && [ -n "$INTER" ] && set -- bash -i

mkdir -p "$DIR/jobs"
JOBDIR=$(mktemp -d "$DIR/jobs/job.XXXXXX")
trap 'rm -rf "$JOBDIR"' EXIT
{
	for e in ${EXPORTS[@]+"${EXPORTS[@]}"}; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
	echo "cd $(printf %q "$PWD") 2>/dev/null || cd /"
	if [ $# -gt 0 ]; then printf 'exec'; printf ' %q' "$@"; echo; fi
} > "$JOBDIR/job.sh"

# Kernel cmdline words name=value (no dot in the name) reach the guest's init as environment.
APPEND="console=ttyS0 quiet loglevel=4 panic=-1 oops=panic rdinit=/init"
APPEND+=" smbvm_stage2=$HERE/guest-init.sh smbvm_job=$JOBDIR/job.sh smbvm_dir=$DIR smbvm_vers=$VERS"
[ -n "$MOPTS" ] && APPEND+=" smbvm_mopts=$MOPTS"
[ -n "$NOCIFS" ] && APPEND+=" smbvm_nocifs=1"
[ -n "$DMESG" ] && APPEND+=" smbvm_dmesg=1"
[ -n "$DEBUG" ] && APPEND+=" smbvm_debug=1"
[ -n "$INTER" ] && APPEND+=" smbvm_inter=1"
EXTRA=()
if [ -n "$OUTDIR" ]; then
	APPEND+=" smbvm_out=$OUTDIR"
	EXTRA+=(-virtfs "local,path=$OUTDIR,mount_tag=out,security_model=passthrough,multidevs=remap")
fi

LOG=$JOBDIR/console.log
QEMU=(qemu-system-x86_64 -accel "$ACCEL" -smp "$CPUS" -m "$MEM"
	-display none -vga none -monitor none -serial stdio -nic none -no-reboot
	-kernel "$KIMG" -initrd "$DIR/initramfs.cpio.gz" -append "$APPEND"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	${EXTRA[@]+"${EXTRA[@]}"})
if [ -n "$INTER" ]; then
	timeout --foreground -k 5 "$TMO" "${QEMU[@]}" 2>&1 | tee "$LOG"
else
	timeout --foreground -k 5 "$TMO" "${QEMU[@]}" < /dev/null 2>&1 |
		sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' -e '/reboot: Power down$/d' | tee "$LOG"
fi
qrc=${PIPESTATUS[0]}
rc=$(sed -n 's/.*SMBVM_RC=\([0-9]*\).*/\1/p' "$LOG" | tail -n 1)
if [ -z "$rc" ]; then
	[ "$qrc" = 124 ] && { echo "run.sh: timeout after ${TMO}s" >&2; exit 124; }
	echo "run.sh: VM exited (qemu rc=$qrc) without a status" >&2; exit 126
fi
exit "$rc"
