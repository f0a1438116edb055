#!/bin/sh
# deps.sh build|test: install the Debian packages aod needs that are missing.
# Runs apt-get update at most once, and only when something is missing.
set -eu
BUILD_PKGS="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libyaml-dev libzstd-dev libarchive-dev libjansson-dev libsystemd-dev"
TEST_PKGS="libcmocka-dev jq bc zstd fio util-linux procps iproute2 kmod
qemu-system-x86 busybox-static samba cifs-utils cpio xz-utils binutils
libfuse3-dev fuse3 systemd"

want=$BUILD_PKGS
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "aod: missing packages:$missing; run as root or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "aod: installing:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
