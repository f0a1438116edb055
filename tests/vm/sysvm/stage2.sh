#!/bin/bash
# Stage 2 of the systemd test VM, PID 1 until it execs systemd. The root is
# the host's / (9p, read-only) under a tmpfs overlay (stage 1: ../smbvm/init.initramfs).
# Prepares the overlay -- Debian's kernel modules, an empty fstab, the test units,
# the default target, the job's environment -- then execs /lib/systemd/systemd.
# Env from the kernel cmdline: smbvm_dir sysvm_units sysvm_job sysvm_out sysvm_aod sysvm_load
[ $$ = 1 ] || { echo "stage2.sh: runs only as PID 1 inside the VM (see run.sh)" >&2; exit 2; }
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
B=/bin/busybox
die() { echo "SYSVM: $*"; sync; exec $B poweroff -f; }

$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
read -r KVER < /proc/sys/kernel/osrelease
$B mkdir -p "/lib/modules/$KVER"
$B mount -o bind "${smbvm_dir:?}/kernel/lib/modules/$KVER" "/lib/modules/$KVER" || die "no modules for $KVER"
modprobe virtio_blk || die "modprobe virtio_blk failed"

: > /etc/fstab                       # the host's fstab is not this machine's
E=/etc/systemd/system
for u in "${sysvm_units:?}"/*; do
	$B sed -e "s|@HEALTH_LOAD@|${sysvm_load:?}|g" "$u" > "$E/$($B basename "$u")" || die "cannot install $u"
done
$B ln -sfn "$E/aodtest.target" "$E/default.target"
printf 'JOB_SCRIPT=%s\nJOB_OUT=%s\nAOD=%s\nHEALTH_LOAD=%s\n' "${sysvm_job:?}" "${sysvm_out:?}" \
	"${sysvm_aod:?}" "$sysvm_load" > /etc/aod-job.env
echo sysvm > /etc/hostname
$B umount /sys /proc
echo "SYSVM: stage2 done, exec systemd"
exec /lib/systemd/systemd
