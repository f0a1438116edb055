#!/bin/sh
# npm-deps.sh DIR: install the test tools of tests/npm/package-lock.json (exact
# versions, from the npm registry) under DIR/node_modules, once: it does nothing
# when DIR already holds this lock file's install. Needs node and npm (apt).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$TOP/build/npm}
LOCK=$TOP/tests/npm/package-lock.json
if [ -f "$DIR/package-lock.json" ] && cmp -s "$LOCK" "$DIR/package-lock.json" &&
   [ -d "$DIR/node_modules" ]; then
	exit 0
fi
command -v npm >/dev/null || { echo "aod: npm missing (scripts/deps.sh test installs it)" >&2; exit 1; }
mkdir -p "$DIR"
rm -f "$DIR/install-failed"
cp "$TOP/tests/npm/package.json" "$DIR/"
echo "aod: installing npm test tools into $DIR"
# The lock is copied last: a failed install leaves no lock, so the next run
# tries again. A registry that cannot be reached is what this machine lacks:
# the tests that need these tools say so (SKIP) and the others run.
if (cd "$DIR" && cp "$LOCK" package-lock.json && npm ci --no-audit --no-fund --loglevel=error); then
	exit 0
fi
rm -f "$DIR/package-lock.json"
echo "npm ci failed (registry unreachable or refused)" > "$DIR/install-failed"
echo "aod: warning: npm test tools not installed; the tests that need them will skip" >&2
exit 0
