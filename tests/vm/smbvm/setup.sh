#!/bin/bash
# One-time setup for the SMB test VM (idempotent, safe to run concurrently).
#  - installs the host packages it needs with apt-get (qemu, busybox-static, samba, ...)
#  - downloads Debian's own kernel package (apt-get download) and unpacks it: never
#    installed on the host
#  - extracts the uncompressed vmlinux (PVH entry: TCG boots it ~5 s faster)
#  - makes the samba state (user root, password smbvm) once, outside /var/lib/samba
#  - builds a small busybox initramfs that mounts the host's / over virtio-9p
# Artifacts (~510 MB) land in $SMBVM_DIR (default /var/tmp/aod-smbvm).
# On failure the last line on stderr says why ("setup: ...") and the exit status is 1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${SMBVM_DIR:-/var/tmp/aod-smbvm}
fail() { echo "setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (apt-get, qemu, samba state)"
mkdir -p "$DIR" && cd "$DIR"
exec 9> "$DIR/.lock"
flock 9   # two test runs must not build the artifacts at the same time

# jq and zstd are for smb.sh's checks on the host, the rest is the VM itself
PKGS="qemu-system-x86 busybox-static samba cifs-utils kmod iproute2 cpio xz-utils binutils jq zstd"
updated=
apt_update() {
	[ -n "$updated" ] && return 0
	apt-get update -qq > apt-update.log 2>&1 ||
		fail "apt-get update failed (no network to the Debian mirror?): $(tail -n 1 apt-update.log)"
	updated=1
}
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt_update
	echo "setup: installing$missing" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
		> apt-install.log 2>&1 || fail "apt-get install$missing failed: $(tail -n 1 apt-install.log)"
fi

# Debian's kernel: whatever linux-image-amd64 points at (6.1.0-NN-amd64 on bookworm).
if [ ! -f kernel/.done ]; then
	KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}') || true
	if [ -z "$KPKG" ]; then
		apt_update
		KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}') || true
	fi
	[ -n "$KPKG" ] || fail "cannot resolve linux-image-amd64 to a kernel package (apt lists?)"
	mkdir -p debs
	if ! ls debs/"$KPKG"_*.deb > /dev/null 2>&1; then
		rm -f debs/*.deb
		# root downloads as _apt unless the dir is writable for it; the warning is harmless
		(cd debs && apt-get download -q "$KPKG") > apt-download.log 2>&1 || {
			apt_update
			(cd debs && apt-get download -q "$KPKG") > apt-download.log 2>&1 ||
				fail "apt-get download $KPKG failed: $(grep -v unsandboxed apt-download.log | tail -n 1)"
		}
	fi
	rm -rf kernel initramfs initramfs.cpio.gz && mkdir kernel
	dpkg -x debs/"$KPKG"_*.deb kernel || { rm -f debs/*.deb; fail "dpkg -x $KPKG failed (download removed)"; }
	KVER=$(ls kernel/lib/modules)
	[ -n "$(find "kernel/lib/modules/$KVER" -name 'cifs.ko*' -print -quit)" ] ||
		fail "$KPKG has no cifs module"
	depmod -b kernel "$KVER" || fail "depmod failed"
	echo "$KVER" > kernel/.done
fi
KVER=$(cat kernel/.done)

# Uncompressed vmlinux with its PVH note: find the xz stream inside the bzImage.
if [ ! -s kernel/vmlinux ] && [ ! -f kernel/.no-pvh ]; then
	IMG=kernel/boot/vmlinuz-$KVER
	pos=$(grep -abo $'\xfd7zXZ\x00' "$IMG" | head -n 1 | cut -d: -f1) || true
	if [ -n "$pos" ]; then tail -c +$((pos + 1)) "$IMG" | xz -dc > kernel/vmlinux.tmp 2>/dev/null || true; fi
	if readelf -n kernel/vmlinux.tmp 2>/dev/null | grep -q Xen; then
		mv kernel/vmlinux.tmp kernel/vmlinux
	else
		rm -f kernel/vmlinux.tmp; touch kernel/.no-pvh
		echo "setup: note: no PVH vmlinux, run.sh boots the bzImage (~5 s slower)" >&2
	fi
fi

# Samba config and passdb, made on the host in $DIR/samba only (never /var/lib/samba);
# the guest copies samba/state to /run/smbvm and runs smbd -s samba/guest.conf.
if [ ! -f samba/state/private/passdb.tdb ] || [ "$HERE/smb.conf.in" -nt samba/guest.conf ]; then
	rm -rf samba && mkdir -p samba/state/{private,lock,state,cache,pid,ncalrpc}
	sed "s|@STATE@|$DIR/samba/state|g" "$HERE/smb.conf.in" > samba/host.conf
	sed "s|@STATE@|/run/smbvm|g" "$HERE/smb.conf.in" > samba/guest.conf
	printf 'smbvm\nsmbvm\n' | smbpasswd -c samba/host.conf -a -s root > samba/smbpasswd.log 2>&1 ||
		fail "smbpasswd failed: $(tail -n 1 samba/smbpasswd.log)"
fi

# initramfs: static busybox, the modules for virtio-pci + 9p + overlay, and /init.
if [ ! -f initramfs.cpio.gz ] || [ "$HERE/init.initramfs" -nt initramfs.cpio.gz ]; then
	rm -rf initramfs && mkdir -p initramfs/{bin,dev,proc,sys,mods,lower,upper,newroot}
	cp /bin/busybox initramfs/bin/busybox
	: > initramfs/mods/order
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d kernel -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}' ||
			fail "modprobe --show-depends $m failed in $DIR/kernel"
	done | awk '!seen[$0]++' > initramfs/mods.list || exit 1   # the failing step said why
	while read -r ko; do
		cp "$ko" initramfs/mods/ && basename "$ko" >> initramfs/mods/order || fail "cannot copy $ko"
	done < initramfs/mods.list
	rm -f initramfs/mods.list
	[ -s initramfs/mods/order ] || fail "no modules found for the initramfs"
	cp "$HERE/init.initramfs" initramfs/init && chmod 755 initramfs/init
	(cd initramfs && find . | cpio -o -H newc --quiet | gzip -1) > initramfs.cpio.gz.tmp
	mv initramfs.cpio.gz.tmp initramfs.cpio.gz
fi
echo "setup: ready: kernel $KVER, $(du -h initramfs.cpio.gz | cut -f1) initramfs, in $DIR"
