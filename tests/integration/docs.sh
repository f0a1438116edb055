#!/bin/bash
# Documentation against the code: every subcommand, option and verb of `aod --help` /
# `aod help CMD` (and every option in the commands' getopt tables) is in aod(8); every
# config key the parser accepts (its key tables in src/config, and the built-in action
# names `aod check-config` prints under watcher.action_timeouts) is in aod.yaml(5) and
# docs/config.md; every AOD_* environment variable the code reads is in aod(8); the man
# pages build with scdoc and render without groff warnings; the bash completion offers
# every subcommand, option and verb. A missing entry is one FAIL line naming the file,
# the section and exactly what is missing. The checker is then run on copies with one
# entry removed from each document, and must catch each removal.
set -u
. "$(dirname "$0")/lib.sh"
need_tools docs scdoc groff python3 bash || exit 0
WORK=$(mktemp -d /var/tmp/aod-docs.XXXXXX); trap 'rm -rf "$WORK"' EXIT
MAN8=$AOD_TOP/man/aod.8.scd MAN5=$AOD_TOP/man/aod.yaml.5.scd CONFIG_MD=$AOD_TOP/docs/config.md
COMPLETION=$AOD_TOP/packaging/bash-completion/aod

# What the code and the binary say: one "KIND<TAB>WHERE<TAB>NAME<TAB>ORIGIN" line each.
#   cmd     -        NAME  a subcommand (main.c's table; `aod --help`)
#   opt     CMD      -x    an option of CMD (its getopt table, its help text); CMD "(top)":
#                          of aod itself (`aod --help`)
#   verb    CMD      WORD  a literal word after "aod CMD" in its usage lines
#   env     -        VAR   an AOD_* variable the code reads (AOD_TEST_* excluded)
#   key     SECTION  KEY   a config key; SECTION is its heading in aod.yaml(5)
# An error in deriving them is printed as "ERROR<TAB>why".
facts() {
	python3 - "$AOD_TOP" "$AOD_BIN" <<'EOF'
import glob, os, re, subprocess, sys
top, aod = sys.argv[1], sys.argv[2]
def out(*f): print("\t".join(f))
def run(*args):
    return subprocess.run([aod, *args], capture_output=True, text=True, timeout=30).stdout
def src(path): return open(os.path.join(top, path)).read()

# Subcommands: main.c's table maps each name to its function; the function's file has
# the getopt table.
main = src("src/cli/main.c")
cmds = re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(aod_cmd_\w+),', main)
if not cmds: out("ERROR", "no subcommand table in src/cli/main.c")
helptext = run("--help")
m = re.search(r'^commands:\n((?:  .*\n)+)', helptext, re.M)
listed = [l.split()[0] for l in m.group(1).splitlines()] if m else []
for name, fn in cmds:
    out("cmd", "-", name, "src/cli/main.c")
    if name not in listed: out("ERROR", f"'aod --help' does not list '{name}' (in src/cli/main.c's table)")
for name in listed:
    if name not in dict(cmds): out("cmd", "-", name, "aod --help")
for o in sorted(set(re.findall(r'(?:^|[][ ,|(/])(--?[a-zA-Z][a-zA-Z0-9-]*)', helptext, re.M))):
    out("opt", "(top)", o, "aod --help")
for name, fn in cmds:
    files = [f for f in glob.glob(os.path.join(top, "src/cli/*.c"))
             if re.search(r'^int ' + fn + r'\(', open(f).read(), re.M)]
    code = open(files[0]).read() if files else ""
    rel = os.path.relpath(files[0], top) if files else "?"
    h = run("help", name)
    if not h: out("ERROR", f"'aod help {name}' prints nothing")
    for o in re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', code):
        out("opt", name, "--" + o, rel)
        if o != "help" and "--" + o not in re.findall(r'--[a-zA-Z][a-zA-Z0-9-]*', h):
            out("ERROR", f"'aod help {name}' does not mention --{o} (in {rel}'s getopt table)")
    for s in re.findall(r'getopt_long\([^,]*,[^,]*,\s*"([^"]*)"', code):
        for ch in re.sub(r'[+:-]', '', s):
            out("opt", name, "-" + ch, rel + " (getopt string)")
    for o in sorted(set(re.findall(r'(?:^|[][ ,|(/])(--?[a-zA-Z][a-zA-Z0-9-]*)', h, re.M))):
        out("opt", name, o, f"aod help {name}")
    for line in h.splitlines():
        w = re.sub(r'^(usage: )?\s*', '', line).split()
        if len(w) >= 3 and w[0] == "aod" and w[1] == name and re.fullmatch(r'\[?[a-z][a-z|-]*\]?', w[2]):
            for v in w[2].strip("[]").split("|"):
                out("verb", name, v, f"aod help {name}")

# Environment variables: every "AOD_X" string the C code holds (getenv, force_env, ...).
for f in sorted(glob.glob(os.path.join(top, "src/*/*.c"))):
    for v in sorted(set(re.findall(r'"(AOD_[A-Z0-9_]+)"', open(f).read()))):
        if not v.startswith("AOD_TEST_"):
            out("env", "-", v, os.path.relpath(f, top))

# Config keys: each table the parser checks a mapping against. The section is the
# path it passes; where that path is computed, SECTIONS names it.
SECTIONS = {
    "rule_keys": "guardian.anomalies.NAME",
    "health_rule_keys": "guardian.anomalies.NAME (type: Health)",
    "track_cmd_keys": "guardian.anomalies.NAME.track_commands",
    "track_dev_keys": "guardian.anomalies.NAME.track_devices",
    "track_port_keys": "guardian.anomalies.NAME.track_ports",
    "custom_keys": "watcher.custom_actions",
    "pattern_keys": "health.log_patterns",
}
ntables = 0
for f in sorted(glob.glob(os.path.join(top, "src/config/*.c"))):
    code, rel = open(f).read(), os.path.relpath(f, top)
    tables = {n: re.findall(r'"([^"]+)"', body) for n, body in
              re.findall(r'static const char \*const (\w+)\[\]\s*=\s*\{(.*?)\};', code, re.S)}
    for path, table in re.findall(r'cfg_check_mapping\(\s*\w+,\s*\w+,\s*("[^"]*"|\w+),\s*(\w+)\s*\)', code):
        if table == "NULL" or table not in tables: continue   # any key / a computed list
        if path.startswith('"'): section = path.strip('"') or "Top level"
        elif table in SECTIONS: section = SECTIONS[table]
        else:
            out("ERROR", f"{rel}: table {table} is checked under a computed path ({path}): "
                "add its aod.yaml(5) section to SECTIONS in tests/integration/docs.sh")
            continue
        ntables += 1
        for k in tables[table]:
            out("key", section, k, f"{rel} {table}")
if ntables < 10: out("ERROR", f"only {ntables} key tables found in src/config (parser changed?)")
cc = subprocess.run([aod, "check-config", os.path.join(top, "config/aod.yaml")],
                    capture_output=True, text=True, timeout=30).stdout
m = re.search(r'^  action_timeouts:\n((?:    \w+: \d+\n)+)', cc, re.M)
if not m: out("ERROR", "'aod check-config config/aod.yaml' prints no watcher.action_timeouts")
for k in re.findall(r'^    (\w+):', m.group(1) if m else "", re.M):
    out("key", "watcher.action_timeouts", k, "aod check-config (watcher.action_timeouts)")
EOF
}

# check_docs FACTS MAN8 MAN5 CONFIG_MD: one PASS/FAIL line per document part.
check_docs() {
	python3 - "$@" <<'EOF'
import re, sys
facts_file, man8, man5, config_md = sys.argv[1:5]
facts = [l.rstrip("\n").split("\t") for l in open(facts_file)]
def verdict(name, missing, where):
    if missing: print(f"FAIL: {name}: {where} is missing: " + "; ".join(missing))
    else: print(f"PASS: {name}")

def scd_sections(path):
    """{heading: [bold words]} of an scdoc file, '#' and '##' headings both."""
    secs, cur = {}, None
    for line in open(path):
        m = re.match(r'^#{1,2} (.*)', line)
        if m: cur = m.group(1).strip(); secs.setdefault(cur, []); continue
        if cur is not None:
            secs[cur] += re.findall(r'\*([^*\s][^*]*?)\*', line)
    return secs
def md_sections(path):
    secs, cur = {}, None
    for line in open(path):
        m = re.match(r'^## (.*)', line)
        if m: cur = m.group(1).strip(); secs[cur] = line; continue
        if cur is not None: secs[cur] += line
    return secs

for f in facts:
    if f[0] == "ERROR": print(f"FAIL: docs-sources: {f[1]}")

s8 = scd_sections(man8)
cmds = sorted({f[2] for f in facts if f[0] == "cmd"})
verdict("man8-commands", [f"'## {c}' (subcommand {c})" for c in cmds if c not in s8], man8)
for c in cmds:
    if c not in s8: continue
    want = {}
    for f in facts:
        if f[0] in ("opt", "verb") and f[1] == c and f[2] not in ("-h", "--help"):
            want.setdefault(f[2], f[3])
    miss = [f"*{w}* (from {o})" for w, o in sorted(want.items()) if w not in s8[c]]
    verdict(f"man8-{c}", miss, f"{man8} section '## {c}'")
top = s8.get("SYNOPSIS", []) + s8.get("OPTIONS", [])
verdict("man8-options", [f"*{f[2]}* (from {f[3]})" for f in facts
                         if f[0] == "opt" and f[1] == "(top)" and f[2] not in top],
        f"{man8} '# SYNOPSIS' and '# OPTIONS'")
env = s8.get("ENVIRONMENT", [])
verdict("man8-environment", [f"*{f[2]}* (read in {f[3]})" for f in facts
                             if f[0] == "env" and f[2] not in env and
                             not any(f[2] in w for w in env)], f"{man8} '# ENVIRONMENT'")

s5 = scd_sections(man5)
md = md_sections(config_md)
keys = [f for f in facts if f[0] == "key"]
verdict("man5-keys", [f"*{k}* under '## {s}' (from {o})" for _, s, k, o in keys
                      if k not in s5.get(s, [])], man5)
def md_section_for(s):
    """docs/config.md's '## ' section that documents man section s."""
    if s == "Top level": return ["Top level"]
    if s.endswith("(type: Health)"): return ["health"]
    first = s.split(".")[0]
    return [h for h in md if h == first or h.startswith(first + ".")]
def in_md(s, k):
    for h in md_section_for(s):
        if h.endswith("." + k) or re.search(r'(`|\{|, )' + re.escape(k) + r'(`|:)', md[h]):
            return True
    return False
verdict("config-md-keys", [f"`{k}` in '## {'/'.join(md_section_for(s)) or s.split('.')[0]}' "
                           f"(key {k if s == 'Top level' else s + '.' + k}, from {o})" for _, s, k, o in keys if not in_md(s, k)],
        config_md)
EOF
}

facts > "$WORK/facts" 2> "$WORK/facts.err"
if [ -s "$WORK/facts.err" ] || ! grep -q '^key' "$WORK/facts"; then
	fail docs-sources "deriving commands, options and keys failed: $(head -c 300 "$WORK/facts.err")"
	exit 0
fi
echo "docs: $(grep -c '^cmd' "$WORK/facts") commands, $(grep -c '^opt' "$WORK/facts") options," \
	"$(grep -c '^verb' "$WORK/facts") verbs, $(grep -c '^env' "$WORK/facts") variables," \
	"$(grep -c '^key' "$WORK/facts") config keys"
check_docs "$WORK/facts" "$MAN8" "$MAN5" "$CONFIG_MD" > "$WORK/verdicts"
cat "$WORK/verdicts"
grep -q '^FAIL: docs-sources' "$WORK/verdicts" || pass docs-sources

# The man pages build, and render without warnings (what lintian's manpage checks see).
for page in "$MAN8" "$MAN5"; do
	n=$(basename "$page" .scd)
	if ! scdoc < "$page" > "$WORK/$n" 2> "$WORK/$n.err"; then
		fail "man-build-$n" "scdoc: $(head -c 300 "$WORK/$n.err")"
		continue
	fi
	warn=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$WORK/$n" 2>&1)
	check "man-build-$n" "groff warns: $(echo "$warn" | head -3)" test -z "$warn"
done

# The checker catches a removal: drop one option from aod(8), one key from aod.yaml(5)
# and from docs/config.md (copies), and it must name exactly those.
sed '/^## record$/,/^## /s/\*--duration\*/--duration/g' "$MAN8" > "$WORK/m8.scd"
sed 's/^\*zstd_level\*$/zstd_level/' "$MAN5" > "$WORK/m5.scd"
sed 's/`lookback_sec`/lookback/g' "$CONFIG_MD" > "$WORK/config.md"
check_docs "$WORK/facts" "$WORK/m8.scd" "$WORK/m5.scd" "$WORK/config.md" > "$WORK/mutated"
grep -q '^FAIL: man8-record: .*\*--duration\*' "$WORK/mutated"
check catches-missing-option "the checker did not report --duration removed from aod(8)" test $? = 0
grep -q "^FAIL: man5-keys: .*\*zstd_level\* under '## watcher'" "$WORK/mutated"
check catches-missing-man-key "the checker did not report zstd_level removed from aod.yaml(5)" test $? = 0
grep -q "^FAIL: config-md-keys: .*\`lookback_sec\` in '## watcher'" "$WORK/mutated"
check catches-missing-md-key "the checker did not report lookback_sec removed from docs/config.md" test $? = 0
# ... and nothing else: the other parts still pass on the copies.
extra=$(grep '^FAIL' "$WORK/mutated" | grep -v -e '^FAIL: man8-record:' -e '^FAIL: man5-keys:' -e '^FAIL: config-md-keys:')
check catches-only-that "unrelated failures on the copies: $extra" test -z "$extra"

# bash completion: registered for aod, and offers what the help lists.
comp() { # WORD...: the completions of the last word, one per line
	bash --norc --noprofile -c 'source "$1"; shift; COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _aod
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
		comp "$COMPLETION" "$@"
}
reg=$(bash --norc --noprofile -c 'source "$1" && complete -p aod' comp "$COMPLETION" 2>&1)
check completion-registered "complete -p aod: '$reg'" test "$reg" = "complete -F _aod aod"
comp "$AOD_BIN" "" > "$WORK/c-cmds"
missing=$(awk -F'\t' '$1 == "cmd" { print $3 }' "$WORK/facts" | sort -u | grep -vxFf "$WORK/c-cmds" | tr '\n' ' ')
check completion-commands "'aod <TAB>' does not offer: $missing" test -z "$missing"
missing=
while IFS=$'\t' read -r kind cmd word origin; do
	case $kind in
	opt) case $origin in "aod help"*) ;; "aod --help") cmd= ;; *) continue ;; esac
		comp "$AOD_BIN" $cmd "${word:0:2}" | grep -qxF -- "$word" || missing="$missing aod $cmd $word;" ;;
	verb) comp "$AOD_BIN" "$cmd" "" | grep -qxF -- "$word" || missing="$missing aod $cmd $word;" ;;
	esac
done < "$WORK/facts"
check completion-options "not offered:$missing" test -z "$missing"
# option values and arguments, as the help shows them
got=$(comp "$AOD_BIN" health -o "" | tr '\n' ' ')
check completion-values "'aod health -o <TAB>' gave '$got', want 'text json '" test "$got" = "text json "
mkdir -p "$WORK/cdir/sub"; touch "$WORK/cdir/file.yaml"
got=$(cd "$WORK/cdir" && comp "$AOD_BIN" agent --config "" | sort | tr '\n' ' ')
check completion-files "'aod agent --config <TAB>' gave '$got', want 'file.yaml sub '" test "$got" = "file.yaml sub "
got=$(cd "$WORK/cdir" && comp "$AOD_BIN" bundles --dir "" | tr '\n' ' ')
check completion-dirs "'aod bundles --dir <TAB>' gave '$got', want 'sub '" test "$got" = "sub "
got=$(comp "$AOD_BIN" record --duration "" | tr '\n' ' ')
check completion-no-files-for-numbers "'aod record --duration <TAB>' gave '$got', want nothing" test -z "$got"
exit 0
