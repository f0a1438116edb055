#!/bin/bash
# The packages. `make deb` builds the Debian package (and a second version of it, for the
# upgrade); lintian reports no error; in a fresh Debian 12 root filesystem (debootstrap,
# cached as a tarball under /var/tmp/aod-pkg) it installs, runs, keeps a local edit of its
# conffile across the upgrade, and purges without leaving a file behind (the RPM:
# package-rpm.sh). Builds go to $AOD_BUILD/pkg-test, whose compiled trees are kept, so a rerun compiles
# only what changed; lintian's verdict is kept per package checksum.
set -u
. "$(dirname "$0")/lib.sh"
CACHE=/var/tmp/aod-pkg
PKG=$AOD_TOP/$AOD_BUILD/pkg-test
case $AOD_BUILD in /*) PKG=$AOD_BUILD/pkg-test ;; esac
VERSION=$(sed -n 's/^VERSION *:= *//p' "$AOD_TOP/Makefile")
UPGRADE=$VERSION+upgradetest
WORK=$(mktemp -d /var/tmp/aod-package.XXXXXX)
ROOT=$WORK/root
# debootstrap mounts /proc and /sys in its target; nothing may stay mounted below $WORK
cleanup() {
	grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then skip package "needs root (chroot, debootstrap)"; exit 0; fi
missing=
for c in dpkg-buildpackage dh lintian debootstrap zstd git; do command -v "$c" >/dev/null || missing="$missing $c"; done
if [ -n "$missing" ]; then
	skip deb "missing:$missing (scripts/deps.sh pkg installs them)"
	have_deb=0
else
	have_deb=1
fi

# The files the package must hold (package-rpm.sh has the same list), plus whatever
# Prometheus and Grafana assets the source has.
expected() { # UNITDIR
	printf '%s\n' /usr/sbin/aod "$1/aod.service" /etc/aod/aod.yaml /var/log/aod \
		/usr/share/bash-completion/completions/aod
	(cd "$AOD_TOP/packaging" && find prometheus grafana -type f 2>/dev/null | sed 's|^|/usr/share/aod/|')
}

# Debian ------------------------------------------------------------------------------
deb_build() { # NAME LOG [DEB_VERSION]
	local name=$1 log=$2
	if ! make -C "$AOD_TOP" --no-print-directory BUILD="$AOD_BUILD" PKG_DIR="$PKG" \
		${3:+DEB_VERSION=$3} deb > "$log" 2>&1; then
		fail "$name" "make deb failed: $(grep -m3 -iE 'error|fail' "$log" | tr '\n' ' ' | head -c 400)"
		return 1
	fi
}

# rootfs DEPENDS: a fresh Debian 12 minbase with the package's dependencies in $ROOT,
# from a cached tarball keyed by them (made once with debootstrap from the host's mirror).
rootfs() {
	local deps key tar mirror
	deps=$(echo "$1" | tr ',' '\n' | sed 's/^ *//; s/[ (].*//' | grep . | sort -u | paste -sd, -)
	key=$(echo "bookworm minbase $deps" | sha256sum | cut -c1-16)
	tar=$CACHE/rootfs-$key.tar.zst
	if [ ! -s "$tar" ]; then
		mkdir -p "$CACHE"
		mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
		[ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
		echo "package: making a Debian 12 rootfs with $deps (once, cached in $tar)"
		if ! debootstrap --variant=minbase --include="$deps" bookworm "$WORK/boot" "${mirror:-http://deb.debian.org/debian}" \
			> "$WORK/debootstrap.log" 2>&1; then
			fail deb-rootfs "debootstrap failed: $(tail -3 "$WORK/debootstrap.log" | tr '\n' ' ')"
			return 1
		fi
		tar -C "$WORK/boot" --zstd -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
		rm -rf --one-file-system "$WORK/boot"
	fi
	mkdir -p "$ROOT" && tar -C "$ROOT" --zstd -xf "$tar"
}
in_root() { chroot "$ROOT" "$@"; }
# every path in the rootfs but dpkg's and apt's own bookkeeping
snapshot() {
	(cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
		-o -path ./var/lib/dpkg -o -path ./var/log/dpkg.log -o -path ./var/log/alternatives.log \
		-o -path ./var/cache/debconf -o -path ./var/log/apt -o -path ./var/cache/apt \) -prune -o -print | sort)
}

if [ "$have_deb" = 1 ] && deb_build deb-build "$WORK/deb1.log"; then
	deb1=$PKG/aod_${VERSION}_$(dpkg --print-architecture).deb
	check deb-build "no $deb1 after make deb" test -s "$deb1"
	# the package's version, the changelog's and the binary's agree
	v=$(dpkg-deb -f "$deb1" Version)
	check deb-version "package $v, Makefile VERSION $VERSION (debian/changelog's top entry must match)" \
		test "$v" = "$VERSION"

	sum=$(sha256sum "$deb1" | cut -c1-64)
	if [ -s "$CACHE/lintian-$sum" ]; then
		cp "$CACHE/lintian-$sum" "$WORK/lintian"
	else
		lintian --fail-on none "$deb1" > "$WORK/lintian" 2>&1
		echo "exit $?" >> "$WORK/lintian"
		mkdir -p "$CACHE" && cp "$WORK/lintian" "$CACHE/lintian-$sum"
	fi
	errors=$(grep -E '^E: ' "$WORK/lintian")
	check deb-lintian "lintian errors: $(echo "$errors" | head -5 | tr '\n' ' ')" \
		sh -c '[ -z "$1" ] && grep -qx "exit 0" "$2"' _ "$errors" "$WORK/lintian"
	grep -E '^[WI]: ' "$WORK/lintian" | sed 's/^/package: lintian: /'

	# what the package holds
	dpkg-deb -c "$deb1" | awk '{ sub(/^\./, "", $6); sub(/\/$/, "", $6); print $6 }' > "$WORK/deb.list"
	missing=$(expected /lib/systemd/system | grep -vxFf "$WORK/deb.list" | tr '\n' ' ')
	man=$(grep -cE '^/usr/share/man/man(8/aod\.8|5/aod\.yaml\.5)(\.gz)?$' "$WORK/deb.list")
	check deb-files "missing:$missing (man pages: $man of 2)" test -z "$missing" -a "$man" = 2
	dpkg-deb -e "$deb1" "$WORK/control"
	check deb-conffile "conffiles: $(cat "$WORK/control/conffiles" 2>/dev/null)" \
		grep -qx /etc/aod/aod.yaml "$WORK/control/conffiles"

	deb_build deb-build-upgrade "$WORK/deb2.log" "$UPGRADE" &&
		deb2=$PKG/aod_${UPGRADE}_$(dpkg --print-architecture).deb
	if [ -n "${deb2:-}" ] && rootfs "$(dpkg-deb -f "$deb1" Depends)"; then
		pass deb-rootfs
		snapshot > "$WORK/before"
		cp "$deb1" "$deb2" "$ROOT/tmp/"
		if in_root dpkg -i "/tmp/$(basename "$deb1")" > "$WORK/install.log" 2>&1; then
			pass deb-install
			got=$(in_root /usr/sbin/aod --version 2>&1)
			check deb-runs "/usr/sbin/aod --version in the rootfs: '$got'" test "$got" = "aod $VERSION"
			in_root /usr/sbin/aod check-config /etc/aod/aod.yaml > "$WORK/effective.yaml" 2> "$WORK/cc.err"
			check deb-config-valid "check-config /etc/aod/aod.yaml: $(head -c 300 "$WORK/cc.err")" test $? = 0
			grep -q '^aod_output_dir: "\?/var/log/aod"\?$' "$WORK/effective.yaml"
			check deb-config-paths "the installed config does not write to /var/log/aod" test $? = 0
			exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$ROOT/lib/systemd/system/aod.service")
			check deb-unit-exec "the unit runs '$exec_path'" test "$exec_path" = /usr/sbin/aod -a -x "$ROOT$exec_path"
			# enabled for the next boot (deb-systemd-helper; nothing starts in a chroot)
			check deb-unit-enabled "no multi-user.target.wants/aod.service link" \
				test -L "$ROOT/etc/systemd/system/multi-user.target.wants/aod.service"
			mode=$(stat -c %a "$ROOT/var/log/aod")
			check deb-logdir "/var/log/aod mode $mode, want 700" test "$mode" = 700
			in_root man -w aod > /dev/null 2>&1 || [ -e "$ROOT/usr/share/man/man8/aod.8.gz" ]
			check deb-man "aod(8) not installed" test $? = 0
		else
			fail deb-install "dpkg -i: $(tail -5 "$WORK/install.log" | tr '\n' ' ')"
		fi
		# a local edit, state the agent would have written; then the upgrade
		echo "# local edit" >> "$ROOT/etc/aod/aod.yaml"
		mkdir -p "$ROOT/var/lib/aod/health"; touch "$ROOT/var/log/aod/anomalies.jsonl" "$ROOT/var/lib/aod/health/latest.json"
		if in_root dpkg -i "/tmp/$(basename "$deb2")" > "$WORK/upgrade.log" 2>&1; then
			v=$(in_root dpkg-query -W -f '${Version}' aod)
			check deb-upgrade "installed version after the upgrade: $v" test "$v" = "$UPGRADE"
			check deb-upgrade-keeps-conffile "the local edit of /etc/aod/aod.yaml was lost" \
				grep -qx "# local edit" "$ROOT/etc/aod/aod.yaml"
			left=$(ls "$ROOT/etc/aod" | grep -v '^aod.yaml$' | tr '\n' ' ')
			check deb-upgrade-no-leftovers "in /etc/aod: $left" test -z "$left"
		else
			fail deb-upgrade "dpkg -i (upgrade): $(tail -5 "$WORK/upgrade.log" | tr '\n' ' ')"
		fi
		in_root dpkg --remove aod > "$WORK/remove.log" 2>&1
		check deb-remove "dpkg --remove: $(tail -3 "$WORK/remove.log" | tr '\n' ' ')" \
			test $? = 0 -a ! -e "$ROOT/usr/sbin/aod" -a -e "$ROOT/etc/aod/aod.yaml"
		in_root dpkg --purge aod > "$WORK/purge.log" 2>&1
		check deb-purge "dpkg --purge: $(tail -3 "$WORK/purge.log" | tr '\n' ' ')" test $? = 0
		snapshot > "$WORK/after"
		left=$(comm -13 "$WORK/before" "$WORK/after" | grep -v '^\./tmp' | tr '\n' ' ')
		gone=$(comm -23 "$WORK/before" "$WORK/after" | tr '\n' ' ')
		check deb-purge-clean "left behind: $left; removed: $gone" test -z "$left$gone"
		status=$(in_root dpkg-query -W -f '${db:Status-Abbrev}' aod 2>/dev/null)
		check deb-purge-status "dpkg still knows aod: '$status'" test -z "$status" -o "$status" = "un "
	fi
fi

exit 0
