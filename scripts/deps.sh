#!/bin/sh
# deps.sh build|test|pkg: install the Debian packages aod needs that are missing.
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
BUILD_PKGS="$BUILD_PKGS scdoc"                             # man/*.scd: make man, make install
BUILD_PKGS="$BUILD_PKGS libcurl4-openssl-dev libssl-dev"  # src/upload: S3 (SigV4), MD5/SHA-256
TEST_PKGS="$TEST_PKGS prometheus curl openssl"            # tests/integration/http.sh, prometheus.sh
TEST_PKGS="$TEST_PKGS sqlite3 python3 python3-pandas"     # tests/integration/store.sh, test_store_query
TEST_PKGS="$TEST_PKGS nodejs npm"                         # scripts/npm-deps.sh: tests/npm (DuckDB)
BUILD_PKGS="$BUILD_PKGS nodejs npm"   # scripts/ui-build.sh: the web UI (without them: a "not built" page)
TEST_PKGS="$TEST_PKGS chromium"                           # tests/integration/ui.sh (playwright-core)
TEST_PKGS="$TEST_PKGS libxml2-utils"                      # tests/integration/impact.sh (xmllint)
TEST_PKGS="$TEST_PKGS groff-base"                         # tests/integration/docs.sh: man pages render
# make deb, make rpm (deps.sh pkg) and tests/integration/package.sh (make check: deps.sh test)
PKG_PKGS="debhelper dpkg-dev fakeroot lintian rpm rpmlint debootstrap zstd"
TEST_PKGS="$TEST_PKGS sysstat lsof libbpf-tools"              # tests/pipelines (iostat, lsof), bench/proc.sh (execsnoop)
TEST_PKGS="$TEST_PKGS xxd"                                # tests/integration/trace.sh: hex of names and argv

want=$BUILD_PKGS
case ${1:-build} in
test) want="$want $TEST_PKGS $PKG_PKGS" ;;
pkg) want="$want $PKG_PKGS" ;;
esac
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
