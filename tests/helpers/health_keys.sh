#!/bin/bash
# health_keys.sh DOC REPORT.json: check that REPORT has every key of DOC's JSON schema tables
# (docs/health.md, from "## JSON schema" to the next "## "): a key like a.b[].c must be in
# every element of the list a.b; a null on the way counts as present (a value that does not
# apply). Prints each missing key; exits 1 if any is missing, 2 if DOC lists no key.
set -u
doc=$1 json=$2
keys=$(awk '/^## JSON schema/{on=1; next} on && /^## /{on=0} on' "$doc" |
	sed -n 's/^| `\([a-z_][]a-z0-9_.[]*\)` |.*/\1/p')
[ -n "$keys" ] || { echo "health_keys: no keys found in $doc" >&2; exit 2; }
printf '%s\n' "$keys" | jq -R -s --slurpfile rep "$json" -r '
	def has_path($segs):
		if ($segs | length) == 0 then true
		elif . == null then true
		elif type != "object" then false
		else ($segs[0]) as $s
		| if ($s | endswith("[]")) then
			($s | rtrimstr("[]")) as $k
			| has($k) and ((.[$k] | type) == "array") and ([.[$k][] | has_path($segs[1:])] | all)
		  else has($s) and (.[$s] | has_path($segs[1:]))
		  end
		end;
	split("\n") | map(select(length > 0)) | .[]
	| select(. as $k | $rep[0] | has_path($k | split(".")) | not)' > /tmp/health_keys.$$
rc=0
if [ -s /tmp/health_keys.$$ ]; then sed 's/^/missing: /' /tmp/health_keys.$$; rc=1; fi
rm -f /tmp/health_keys.$$
exit $rc
