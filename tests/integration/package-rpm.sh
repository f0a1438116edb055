#!/bin/bash
# The RPM: `make rpm` builds it (rpmbuild, Debian's rpm package); `rpm -qlp` lists the files
# it must hold, `rpm -qcp` its one config file; rpmlint (with packaging/rpm/aod.rpmlintrc's
# filters, each with its reason) reports no error. The build goes to $AOD_BUILD/pkg-test,
# whose compiled tree is kept, so a rerun compiles only what changed.
set -u
. "$(dirname "$0")/lib.sh"
PKG=$AOD_TOP/$AOD_BUILD/pkg-test
case $AOD_BUILD in /*) PKG=$AOD_BUILD/pkg-test ;; esac
VERSION=$(sed -n 's/^VERSION *:= *//p' "$AOD_TOP/Makefile")
WORK=$(mktemp -d /var/tmp/aod-package-rpm.XXXXXX); trap 'rm -rf "$WORK"' EXIT

# The files the package must hold (package.sh has the same list for the Debian package),
# plus whatever Prometheus and Grafana assets the source has.
expected() { # UNITDIR
	printf '%s\n' /usr/sbin/aod "$1/aod.service" /etc/aod/aod.yaml /var/log/aod \
		/usr/share/bash-completion/completions/aod
	(cd "$AOD_TOP/packaging" && find prometheus grafana -type f 2>/dev/null | sed 's|^|/usr/share/aod/|')
}

if ! command -v rpmbuild > /dev/null; then
	skip rpm "rpmbuild missing (Debian package rpm; scripts/deps.sh pkg installs it)"
elif ! make -C "$AOD_TOP" --no-print-directory BUILD="$AOD_BUILD" PKG_DIR="$PKG" rpm > "$WORK/rpm.log" 2>&1; then
	fail rpm-build "make rpm failed: $(grep -m3 -iE 'error|fail' "$WORK/rpm.log" | tr '\n' ' ' | head -c 400)"
else
	rpm=$(ls "$PKG"/rpm/RPMS/*/aod-"$VERSION"-1*.rpm 2>/dev/null | head -1)
	check rpm-build "no aod-$VERSION-1.*.rpm in $PKG/rpm/RPMS" test -n "$rpm"
	if [ -n "$rpm" ]; then
		rpm -qlp "$rpm" 2>/dev/null > "$WORK/rpm.list"
		missing=$(expected /usr/lib/systemd/system | grep -vxFf "$WORK/rpm.list" | tr '\n' ' ')
		man=$(grep -cE '^/usr/share/man/man(8/aod\.8|5/aod\.yaml\.5)(\.gz)?$' "$WORK/rpm.list")
		check rpm-files "rpm -qlp lacks:$missing (man pages: $man of 2)" test -z "$missing" -a "$man" = 2
		conf=$(rpm -qcp "$rpm" 2>/dev/null | tr '\n' ' ')
		check rpm-conffile "rpm -qcp: '$conf'" test "$conf" = "/etc/aod/aod.yaml "
		v=$(rpm -qp --qf '%{VERSION}' "$rpm" 2>/dev/null)
		check rpm-version "rpm version '$v', Makefile $VERSION" test "$v" = "$VERSION"
		if command -v rpmlint > /dev/null; then
			rpmlint -r "$AOD_TOP/packaging/rpm/aod.rpmlintrc" "$rpm" > "$WORK/rpmlint" 2>&1
			errors=$(grep -E ': E: ' "$WORK/rpmlint")
			check rpm-rpmlint "rpmlint errors: $(echo "$errors" | head -5 | tr '\n' ' ')" test -z "$errors"
			grep -E ': W: ' "$WORK/rpmlint" | sed "s/^/package-rpm: rpmlint: /"
		else
			skip rpm-rpmlint "rpmlint missing (Debian package rpmlint)"
		fi
	fi
fi
exit 0
