#!/bin/bash
# In the SMB VM: load cifs (if not loaded yet) and mount a share of the local smbd.
#   _mount.sh [SHARE [MOUNTPOINT]]     default: share /mnt/smb; e.g. _mount.sh ro /mnt/ro
# Uses the dialect and extra options guest-init.sh got (smbvm_vers, smbvm_mopts).
# For boots with run.sh -n, where the job decides when cifs appears.
set -u
share=${1:-share} mnt=${2:-/mnt/smb}
B=/bin/busybox
[ -d /sys/module/cifs ] || modprobe cifs || { echo "_mount.sh: modprobe cifs failed" >&2; exit 1; }
opts="username=root,password=smbvm,vers=${smbvm_vers:-3.1.1}${smbvm_mopts:+,$smbvm_mopts}"
$B mkdir -p "$mnt"
for _ in $($B seq 1 50); do
	if (exec 3<> /dev/tcp/127.0.0.1/445) 2> /dev/null &&
		/sbin/mount.cifs "//127.0.0.1/$share" "$mnt" -o "$opts" 2> /run/mount-"$share".err; then
		exit 0
	fi
	$B sleep 0.1
done
echo "_mount.sh: mount //127.0.0.1/$share on $mnt failed: $(cat /run/mount-"$share".err 2> /dev/null)" >&2
exit 1
