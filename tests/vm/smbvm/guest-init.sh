#!/bin/bash
# Stage 2: runs as PID 1 inside the guest (root = overlay of host / + tmpfs).
# Brings up loopback, starts smbd on 127.0.0.1, loads cifs and mounts //127.0.0.1/share
# on /mnt/smb (unless smbvm_nocifs=1: then the job loads cifs and mounts, with
# tests/vm/_mount.sh), runs the job script written by run.sh, prints SMBVM_RC=<rc>,
# powers off.
# Env from the kernel cmdline: smbvm_job smbvm_dir smbvm_vers smbvm_mopts smbvm_nocifs
#                              smbvm_dmesg smbvm_debug smbvm_inter
# Never on a host: it mounts over /proc and /run and powers off.
[ $$ = 1 ] || { echo "guest-init.sh: runs only as PID 1 inside the SMB VM (see run.sh)" >&2; exit 2; }
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

poweroff_now() { sync; exec /bin/busybox poweroff -f; }
die() { echo "SMBVM: $*"; echo "SMBVM_RC=125"; poweroff_now; }

# plumbing uses static busybox: each dynamically linked exec costs ~0.2 s under TCG
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
read -r t_start _ < /proc/uptime
phase() { [ -n "${smbvm_debug:-}" ] && { read -r up _ < /proc/uptime; echo "SMBVM: [$up] $*"; }; }
phase stage2-start
[ -n "${smbvm_dmesg:-}" ] || echo 1 > /proc/sys/kernel/printk
$B mkdir -p /dev/pts /dev/shm
$B mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$B mount -t tmpfs tmpfs /dev/shm
$B ln -sfn /proc/self/fd /dev/fd; $B ln -sfn /proc/self/fd/0 /dev/stdin
$B ln -sfn /proc/self/fd/1 /dev/stdout; $B ln -sfn /proc/self/fd/2 /dev/stderr
$B mount -t tmpfs -o mode=755 tmpfs /run
$B mount -t tracefs tracefs /sys/kernel/tracing
$B mount -t debugfs debugfs /sys/kernel/debug
$B mount -t bpf bpf /sys/fs/bpf
$B mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo smbvm > /proc/sys/kernel/hostname
echo "127.0.0.1 smbvm" >> /etc/hosts   # overlay write; avoids DNS lookups by smbd
$B ip link set lo up

# samba: state prepared on the host by setup.sh (user root / password smbvm)
phase smbd-start
$B mkdir -p /srv/smb /mnt/smb && $B chmod 1777 /srv/smb
$B cp -a "${smbvm_dir:?}/samba/state" /run/smbvm
smbd -D -s "$smbvm_dir/samba/guest.conf" &   # starts in parallel with modprobe

# Debian kernel's modules (unpacked on the host) appear at /lib/modules/$KVER
phase modprobe
read -r KVER < /proc/sys/kernel/osrelease
$B mkdir -p "/lib/modules/$KVER"
$B mount -o bind "$smbvm_dir/kernel/lib/modules/$KVER" "/lib/modules/$KVER"
if [ -n "${smbvm_nocifs:-}" ]; then
	modprobe sch_netem || die "modprobe sch_netem failed"
else
	modprobe -a cifs sch_netem || die "modprobe cifs/sch_netem failed"
fi

phase mount
export smbvm_vers=${smbvm_vers:-3.1.1}
mopts="username=root,password=smbvm,vers=$smbvm_vers${smbvm_mopts:+,$smbvm_mopts}"
wait   # smbd -D returns once daemonized
ok=
for _ in $($B seq 1 150); do   # wait for port 445 (bash /dev/tcp, no exec), then mount
	if (exec 3<> /dev/tcp/127.0.0.1/445) 2> /dev/null; then
		if [ -n "${smbvm_nocifs:-}" ]; then ok=1; break; fi
		/sbin/mount.cifs //127.0.0.1/share /mnt/smb -o "$mopts" 2> /run/mount.err && { ok=1; break; }
	fi
	$B sleep 0.1
done
if [ -z "$ok" ]; then
	cat /run/mount.err 2> /dev/null; $B tail -n 20 /run/smbvm/log.smbd 2> /dev/null
	die "smbd not answering on 445 or mount.cifs failed"
fi
read -r t_ready _ < /proc/uptime
if [ -n "${smbvm_nocifs:-}" ]; then what="cifs not loaded, smbd on 127.0.0.1:445"
else what="//127.0.0.1/share on /mnt/smb ($mopts)"; fi
echo "SMBVM: ready: kernel $KVER, $what, guest uptime ${t_ready}s (stage2 $($B awk "BEGIN{print $t_ready - $t_start}")s)"

# --- job ----------------------------------------------------------------------
rc=0
if [ -n "${smbvm_job:-}" ] && [ -f "$smbvm_job" ]; then
	if [ -n "${smbvm_inter:-}" ]; then bash "$smbvm_job"; else bash "$smbvm_job" < /dev/null; fi
	rc=$?
else
	echo "SMBVM: no job given"
fi
[ -n "${smbvm_dmesg:-}" ] && { echo "SMBVM: --- dmesg ---"; dmesg | tail -n 200; }
echo "SMBVM_RC=$rc"
$B umount -l /mnt/ro 2> /dev/null
$B umount -l /mnt/smb 2> /dev/null
poweroff_now
