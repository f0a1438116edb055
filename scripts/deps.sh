#!/bin/sh
# deps.sh build|test: install the Debian packages aod needs that are missing.
# Runs apt-get update at most once, and only when something is missing.
set -eu
BUILD_PKGS="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libyaml-dev libzstd-dev libarchive-dev libjansson-dev libsystemd-dev libsqlite3-dev"
# What tests/ runs, by package (bench/ adds bc and fio): libcmocka-dev (unit tests, the
# runner's self-test); jq; zstd (tar --zstd); util-linux (setpriv, dmesg, flock, losetup);
# procps; iproute2 (ip, tc); kmod (lsmod, modprobe, depmod); systemd (systemd-analyze verify
# of the unit, journalctl); the SMB VM: qemu-system-x86 busybox-static samba cifs-utils cpio
# xz-utils binutils (readelf); libfuse3-dev fuse3 (tests/helpers/stallfs: block I/O that
# hangs); libclang-rt-dev (clang's libFuzzer runtime, make fuzz and the fuzz suite).
# bpftool and gcc come with BUILD_PKGS.
TEST_PKGS="libcmocka-dev jq bc zstd fio util-linux procps iproute2 kmod systemd
qemu-system-x86 busybox-static samba cifs-utils cpio xz-utils binutils
libfuse3-dev fuse3 libclang-rt-dev nftables"
BUILD_PKGS="$BUILD_PKGS libmicrohttpd-dev libcrypt-dev"   # src/serve: HTTP server, bcrypt
TEST_PKGS="$TEST_PKGS prometheus curl openssl"            # tests/integration/http.sh, prometheus.sh
TEST_PKGS="$TEST_PKGS sqlite3 python3 python3-pandas"     # tests/integration/store.sh, test_store_query
TEST_PKGS="$TEST_PKGS nodejs npm"                         # scripts/npm-deps.sh: tests/npm (DuckDB)

want=$BUILD_PKGS
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"
missing=
# nodejs and npm: a node that already brings its own npm (NodeSource's nodejs
# conflicts with Debian's npm package) is as good as Debian's pair.
provided() {
	case $1 in nodejs) command -v node >/dev/null ;; npm) command -v npm >/dev/null ;; *) false ;; esac
}
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || provided "$p" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "aod: missing packages:$missing; run as root or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "aod: installing:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
