# shellcheck shell=bash disable=SC2034
# Shared by tests/integration/prometheus.sh (host) and tests/vm/_guest-smb.sh +
# tests/vm/smb.sh (the SMB VM): which expressions of aod-rules.yml and the Grafana
# dashboard are judged, and how a Prometheus answer is judged. Sourced, not run.
# Needs jq; prom_judge needs the caller's pass/fail (PASS: name / FAIL: name: why).

# jq program: an /api/v1/query answer -> "N M" (N series, M of them not NaN), or
# "error: ..." when the query failed
PROM_SUMMARY_JQ='if .status != "success" then "error: \(.error)" else
	"\(.data.result | length) \([.data.result[] | select(.value[1] != "NaN")] | length)" end'

prom_free_port() { # a loopback port nothing listens on
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return 0; }
	done
	return 1
}

prom_write_config() { # file rules-file target(host:port): scrape and evaluate every second
	cat > "$1" << YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$2"]
scrape_configs:
  - job_name: aod
    static_configs: [{targets: ["$3"]}]
YAML
}

# The expressions to judge, one "kind<TAB>name<TAB>ref<TAB>expr" line each:
#   rule      NAME  -    the rule's expression as Prometheus loaded it; an alert's without
#                        its threshold comparison (the data, not the firing)
#   recorded  NAME  -    NAME (the recording rule's series)
#   panel     TITLE REF  a dashboard query, $__rate_interval as 1m, variables as "All"
prom_rules_tsv() { # file: an /api/v1/rules answer
	local type name query
	jq -r '.data.groups[].rules[] | "\(.type)\t\(.name)\t\(.query)"' "$1" |
		while IFS=$'\t' read -r type name query; do
			if [ "$type" = alerting ] &&
			   [[ $query =~ ^(.*[^[:space:]])[[:space:]]*(\>|\<|==|!=|\>=|\<=)[[:space:]]*[0-9.e+-]+[[:space:]]*$ ]]; then
				query=${BASH_REMATCH[1]}
			fi
			printf 'rule\t%s\t-\t%s\n' "$name" "$query"
			[ "$type" = recording ] && printf 'recorded\t%s\t-\t%s\n' "$name" "$name"
		done
	return 0
}
prom_panels_tsv() { # dashboard.json
	local title ref expr v
	jq -r '.panels[] | .title as $t | (.targets // [])[] | "\($t)\t\(.refId)\t\(.expr)"' "$1" |
		while IFS=$'\t' read -r title ref expr; do
			expr=${expr//\$__rate_interval/1m}
			for v in instance share command device; do expr=${expr//\$$v/.*}; done
			printf 'panel\t%s\t%s\t%s\n' "$title" "$ref" "$expr"
		done
	return 0
}
prom_is_smb() { [[ $1 == *aod_smb_* || $1 == *aod:smb_* ]]; }  # expr: needs SMB series

prom_has_data() { # summary: some series, not all NaN
	[[ $1 =~ ^([0-9]+)\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] > 0))
}
prom_judge() { # case summary expr [where]: one PASS/FAIL line
	case $2 in
	error*) fail "$1" "$2${4:+ ($4)}: $3" ;;
	"" | none) fail "$1" "no answer${4:+ ($4)}: $3" ;;
	"0 "*) fail "$1" "no data${4:+ ($4)}: $3" ;;
	*" 0") fail "$1" "only NaN (${2% *} series${4:+, $4}): $3" ;;
	*) if prom_has_data "$2"; then pass "$1 (${2% *} series$([ "${2% *}" = "${2#* }" ] || echo ", ${2#* } not NaN")${4:+, $4})"
	   else fail "$1" "unexpected summary '$2': $3"; fi ;;
	esac
}
