#!/bin/bash
# The test runner itself (tests/run-all.sh), on fake suites in a temp dir: cmocka programs
# (tests/runner/fake_cmocka.c, built here) that pass, skip, fail, fail in setup, crash, die
# in a case, hang, fail their group setup, exit 1 after passing; scripts that pass, fail,
# hang while ignoring SIGTERM, skip, exit 3, print nothing; a lib.sh and a _*.sh that must
# not run. Checks the counts, the final line, the exit status, the SKIP and timeout lines,
# that a failure counts once, the failures: list, the per-suite budget and -k.
set -u
. "$(dirname "$0")/../integration/lib.sh"
RUNNER=$AOD_TOP/tests/run-all.sh
T=$(mktemp -d /tmp/aod-runner-selftest.XXXXXX)
cleanup() { # the hung fake's child, should the runner have left it behind
	[ -s "$T/hang.pids" ] && kill -KILL $(cat "$T/hang.pids") 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
export FAKE_STATE=$T

# ---- the fake tree: $T/tests/integration and $T/build/tests
mkdir -p "$T/tests/integration" "$T/build/tests" "$T/ok/integration"
if ! ${CC:-cc} -Wall -Wextra -Werror -o "$T/build/tests/test_cm" "$AOD_TOP/tests/runner/fake_cmocka.c" \
	-lcmocka > "$T/cc.log" 2>&1; then
	fail runner-fake-cmocka-builds "$(head -c 300 "$T/cc.log") (gcc and libcmocka-dev: scripts/deps.sh test)"
	exit 0
fi
for m in die hang group exit; do
	printf '#!/bin/sh\nFAKE=%s exec "%s/build/tests/test_cm"\n' "$m" "$T" > "$T/build/tests/test_cm_$m"
done
printf '#!/bin/sh\nexit 0\n' > "$T/build/tests/test_empty"
printf '#!/bin/sh\necho "FAIL: not-a-test-ran: runner ran a non-executable"\n' > "$T/build/tests/test_notexec"
printf '#!/bin/sh\necho "[  FAILED  ] helper-ran"\nexit 1\n' > "$T/build/tests/helper"
chmod +x "$T"/build/tests/test_cm_* "$T/build/tests/test_empty" "$T/build/tests/helper"

I=$T/tests/integration
printf 'echo "PASS: one"\necho "PASS: two"\n' > "$I/a-pass.sh"
printf 'echo "PASS: three"\necho "FAIL: four: broken"\nexit 1\n' > "$I/b-fail.sh"
cat > "$I/c-hang.sh" <<'EOF'
echo "PASS: before-hang"
trap '' TERM              # only SIGKILL (timeout -k) ends it, and its child
sleep 1000 &
echo $! >> "$FAKE_STATE/hang.pids"
wait
EOF
printf 'echo "SKIP: five: no widget here"\n' > "$I/d-skip.sh"
printf 'echo "PASS: six"\nexit 3\n' > "$I/e-exit.sh"
printf 'true\n' > "$I/f-silent.sh"
printf 'echo "FAIL: lib-was-run: lib.sh is not a test"\n' > "$I/lib.sh"
printf 'echo "FAIL: underscore-was-run: _x.sh is not a test"\n' > "$I/_x.sh"
cp "$I/a-pass.sh" "$I/d-skip.sh" "$T/ok/integration/"

runner() { # out-file [ENV=V...] CMD...: the runner on the fake tree (60 s at most); sets rc, took
	local out=$1 t0; shift
	t0=$(date +%s)
	timeout -k 5 60 env AOD_TESTS="$T/tests" AOD_BUILD="$T/build" AOD_TIMEOUT_KILL=1 \
		AOD_TIMEOUT_UNIT=2 AOD_TIMEOUT_INTEGRATION=2 \
		AOD_SUITE_TIMEOUT_UNIT=120 AOD_SUITE_TIMEOUT_INTEGRATION=120 "$@" > "$out" 2>&1
	rc=$? took=$(($(date +%s) - t0))
}
has() { grep -qxF -- "$2" "$1"; }                      # file line
count() { grep -cF -- "$2" "$1"; }                     # file substring

# ---- everything at once
O=$T/all.out
runner "$O" "$RUNNER" unit integration
last=$(tail -n 1 "$O")
# unit: test_cm 1 pass, 4 fail (assert, fail_msg, setup, SIGSEGV), 1 skip; die, hang: 1 pass
# + 1 fail each; group: 1 fail; exit: 1 pass + 1 fail; empty: 1 fail.
# integration: a 2 pass; b 1 pass 1 fail; c 1 pass 1 fail (timeout); d 1 skip; e 1 pass
# 1 fail (exit 3); f 1 fail (silent).
check runner-final-line "last line '$last' (see $O)" test "$last" = "9 passed, 13 failed, 2 skipped"
check runner-exit-status "exit $rc with failures" test "$rc" != 0 -a "$rc" != 2
check runner-cmocka-skip-reason "no SKIP line for t_skip with its reason" \
	has "$O" "SKIP: test_cm: t_skip: no frobnicator here"
check runner-cmocka-fail-once "t_fail counted $(count "$O" "FAIL: test_cm: t_fail:") times" \
	test "$(count "$O" "FAIL: test_cm: t_fail:")" = 1
check runner-cmocka-fail-reason "t_fail's line lacks the assertion and its place" \
	grep -q '^FAIL: test_cm: t_fail: 0x1 != 0x2; .*fake_cmocka.c:[0-9]*: error: Failure!$' "$O"
check runner-cmocka-setup-error "a failed setup is not a failure" grep -q '^FAIL: test_cm: t_setupfail: ' "$O"
check runner-cmocka-crash "a caught SIGSEGV is not a failure" grep -q '^FAIL: test_cm: t_segv: .*Segmentation fault' "$O"
check runner-cmocka-died "a case that exits mid-way" grep -q '^FAIL: test_cm_die: t_die: did not finish (exit 3)' "$O"
check runner-cmocka-timeout "no timeout line for the hanging binary" \
	grep -q '^FAIL: test_cm_hang: timed out after 2 s (in t_hang)' "$O"
check runner-cmocka-group "group setup failure" grep -q '^FAIL: test_cm_group: group setup: failed' "$O"
check runner-cmocka-exit "passing cases but exit 1" grep -q '^FAIL: test_cm_exit: exit 1 without a failing case' "$O"
check runner-cmocka-empty "a binary that prints nothing passes" grep -q '^FAIL: test_empty: no cmocka summary' "$O"
check runner-only-test-binaries "ran a non-test_* or non-executable file" \
	bash -c "! grep -q 'helper-ran\|not-a-test-ran' '$O'"
check runner-script-timeout "no 'FAIL: c-hang.sh: timed out after 2 s' line" \
	grep -q '^FAIL: c-hang.sh: timed out after 2 s ' "$O"
hang_pid=$(tail -n 1 "$T/hang.pids" 2>/dev/null)
gone() { [ -n "$1" ] && { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }; }
check runner-kill-after "the hung script's child (pid ${hang_pid:-none}) outlived it by 5 s" \
	wait_for 5 gone "$hang_pid"
check runner-script-lines "PASS/FAIL/SKIP lines of the scripts" \
	bash -c "grep -qx 'PASS: two' '$O' && grep -qx 'FAIL: four: broken' '$O' && grep -qx 'SKIP: five: no widget here' '$O'"
check runner-script-exit "a script exiting 3 without a FAIL line" grep -q '^FAIL: e-exit.sh: exit 3 without a FAIL line' "$O"
check runner-script-silent "a script printing nothing" grep -q '^FAIL: f-silent.sh: printed no PASS/FAIL/SKIP line' "$O"
n=$(sed -n '/^failures:$/,$p' "$O" | grep -c '^  b-fail.sh: ')
check runner-script-exit-once "b-fail.sh (a FAIL line, then exit 1) listed $n times in failures:" test "$n" = 1
check runner-skips-lib "lib.sh or _x.sh was run as a test" bash -c "! grep -q 'was-run' '$O'"
listed=$(sed -n '/^failures:$/,$p' "$O" | grep -c '^  ')
check runner-failures-list "failures: lists $listed lines for 13 failures" test "$listed" = 13
check runner-failures-has-unit "failures: lacks the unit case" grep -q '^  test_cm: t_failmsg: ' "$O"
check runner-failures-names-script "failures: does not name the script of a FAIL line" grep -qx '  b-fail.sh: four: broken' "$O"
# 2 s per hang (binary and script) + 1 s to SIGKILL + building nothing: far below 60 s
check "runner-timeouts-bound-the-run (${took} s)" "the run took ${took} s" test "$took" -lt 60

# ---- a suite that passes: exit 0, skips counted
runner "$T/ok.out" AOD_TESTS="$T/ok" "$RUNNER" integration
check runner-green-run "exit $rc, last line '$(tail -n 1 "$T/ok.out")'" \
	test "$rc" = 0 -a "$(tail -n 1 "$T/ok.out")" = "2 passed, 0 failed, 1 skipped"

# ---- the suite's budget: the hung script gets what is left, the rest is not run (SKIP)
runner "$T/budget.out" AOD_TIMEOUT_INTEGRATION=60 AOD_SUITE_TIMEOUT_INTEGRATION=3 "$RUNNER" integration
check runner-suite-budget "hung script not cut at the suite's budget ($(grep c-hang "$T/budget.out" | tail -n 1))" \
	grep -Eq '^FAIL: c-hang.sh: timed out after [1-3] s ' "$T/budget.out"
check runner-suite-budget-skips "scripts after the budget ran out are not SKIP lines" \
	grep -q '^SKIP: f-silent.sh: not run: suite integration used up its 3 s' "$T/budget.out"
check "runner-suite-budget-bounds (${took} s)" "took ${took} s with a 3 s budget" test "$took" -lt 20

# ---- usage
runner "$T/bad.out" "$RUNNER" no-such-suite
check runner-unknown-suite "exit $rc: $(head -c 200 "$T/bad.out")" test "$rc" = 2
