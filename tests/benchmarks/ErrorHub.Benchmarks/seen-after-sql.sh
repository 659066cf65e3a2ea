#!/usr/bin/env bash
# The query that finds a project's resolved or ignored issues seen after their change (IIssueActivity.GetIssuesSeenAfterChangesAsync,
# which the issue list and every notifier round run) on ClickHouse, as the store sent it until December 2026 (every such issue's
# issue_days merged per issue and joined with the states, read twice) and as it sends it now (the rows past their issue's change
# found without grouping, then only those issues merged), against one project of N issues shaped as list-states-sql.sh makes it,
# plus a later day's event for one issue in 150 (a third of them resolved, so seen after their change). Each form is run RUNS
# times after one warm-up, old and new in turn; prints the medians, as the client waited (with clickhouse-client's own start, which
# on a loaded machine is a good part of it) and as the server took (system.query_log's query_duration_ms), the ratios new/old of
# the same run, and what ClickHouse read. Both forms must answer the same rows: the script compares their checksums and stops otherwise.
#
#   seen-after-sql.sh PORT [ISSUES] [RUNS]      PORT: a ClickHouse server's native TCP port on 127.0.0.1
#
# The server must log queries (log_queries=1 in its profile). It makes and drops a database of its own.
set -euo pipefail
port=${1:?native port of a ClickHouse server on 127.0.0.1}
issues=${2:-300000}
runs=${3:-5}
db="seen_after_$$"
ch() { clickhouse-client --host 127.0.0.1 --port "$port" "$@"; }
trap 'ch -q "DROP DATABASE IF EXISTS $db" || true' EXIT

fp="concat('issue-', substring(toString(1000000 + number), 2, 6))"
days_row() { # $1: seconds after the issue's first event; $2: which issues
  echo "SELECT 1, 'production', 'error', '', $fp AS fp, toStartOfDay(toDateTime(1700000000 + number * 200 + $1, 'UTC')) AS d, countState(), uniqState(toUInt64(number % 1000 + 1)), minState(toUInt32(1700000000 + number * 200 + $1)), maxState(toUInt32(1700000000 + number * 200 + $1)) FROM numbers($issues) WHERE $2 GROUP BY fp, d"
}
ch -q "CREATE DATABASE $db"
ch -q "CREATE TABLE $db.issue_states (project_id UInt32, fingerprint String, status String, changed_at DateTime('UTC'), resolved_in_release String, triage String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, fingerprint)"
ch -q "CREATE TABLE $db.issue_days (project_id UInt32, environment String, level String, release String, fingerprint String, day DateTime('UTC'), event_count AggregateFunction(count), user_count AggregateFunction(uniq, UInt64), first_seen AggregateFunction(min, UInt32), last_seen AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree PARTITION BY toMonday(day) ORDER BY (project_id, environment, level, release, fingerprint, day)"
ch -q "INSERT INTO $db.issue_days $(days_row 0 1)"
triage="multiIf(number % 10 < 5, '{\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}', number % 10 < 7 AND number % 2 = 0, '{\"ignoredUntilEvents\":100,\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}', number % 10 < 7, '{\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}', '{\"assigneeId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}')"
ch -q "INSERT INTO $db.issue_states SELECT 1, $fp, multiIf(number % 10 < 5, 'resolved', number % 10 < 7, 'ignored', 'unresolved'), toDateTime(1700000000 + number * 200 + if(number % 100 = 1, -3600, 3600), 'UTC'), '', $triage, number FROM numbers($issues) WHERE number % 10 < 8"
ch -q "OPTIMIZE TABLE $db.issue_days FINAL"
ch -q "OPTIMIZE TABLE $db.issue_states FINAL"
ch -q "INSERT INTO $db.issue_states SELECT 1, $fp, if(number % 10 < 5, 'ignored', 'resolved'), toDateTime(1700000000 + number * 200 + 7200, 'UTC'), '', '{}', 1000000000 + number FROM numbers($issues) WHERE number % 10 < 7 AND number % 100 < 10"
# Three days later, one issue in 150 has an event again (in a part of its own, as a day's inserts are).
ch -q "INSERT INTO $db.issue_days $(days_row 259200 "number % 150 = 0")"

states="SELECT fingerprint AS fp, toUnixTimestamp(changed_at) AS state_changed FROM $db.issue_states FINAL WHERE project_id = 1 AND (status = 'resolved' OR (status = 'ignored' AND (visitParamHas(triage, 'ignoredUntilEvents') OR visitParamHas(triage, 'ignoredUntilUsers'))))"
old="SELECT fp AS fingerprint, max(seen) AS issue_last_seen, sum(events) AS issue_events FROM (SELECT fingerprint AS fp, maxMerge(last_seen) AS seen, countMerge(event_count) AS events FROM $db.issue_days WHERE project_id = 1 AND (fingerprint IN (SELECT fp FROM ($states))) GROUP BY fingerprint) ANY INNER JOIN ($states) USING fp GROUP BY fp HAVING issue_last_seen > any(state_changed) ORDER BY fingerprint"
new="SELECT fingerprint AS fp, maxMerge(last_seen) AS issue_last_seen, countMerge(event_count) AS issue_events FROM $db.issue_days WHERE project_id = 1 AND fingerprint GLOBAL IN (SELECT fingerprint AS fp FROM $db.issue_days ALL INNER JOIN ($states) USING fp WHERE project_id = 1 AND finalizeAggregation(last_seen) > state_changed) GROUP BY fp ORDER BY fp"

[ "$(ch -q "$old" | md5sum)" = "$(ch -q "$new" | md5sum)" ] || { echo "different answers" >&2; exit 1; }
found=$(ch -q "$new" | wc -l)
[ "$found" -gt 0 ] || { echo "no issue seen after its change: the shape measures nothing" >&2; exit 1; }

ch -q "$old" > /dev/null; ch -q "$new" > /dev/null
old_times=(); new_times=()
elapsed() { local start end; start=$(date +%s%N); ch --query_id "$1" -q "$2" > /dev/null; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
for run in $(seq "$runs"); do
  old_times+=("$(elapsed "$db:old:$run" "$old")")
  new_times+=("$(elapsed "$db:new:$run" "$new")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
o=$(median "${old_times[@]}"); n=$(median "${new_times[@]}")
echo "$issues issues, $found seen after their change; $runs runs each, in turn"
echo "| median | until December 2026 | now | now / until |"
echo "|---|---|---|---|"
echo "| client's ms (runs: ${old_times[*]} / ${new_times[*]}) | $o | $n | $(awk -v a="$n" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"

ch -q "SYSTEM FLUSH LOGS"
server() { ch -q "SELECT toString(quantileExact(0.5)(query_duration_ms)) FROM system.query_log WHERE type = 2 AND startsWith(query_id, '$db:$1:')"; }
so=$(server old); sn=$(server new)
echo "| server's median ms (query_log) | $so | $sn | $(awk -v a="$sn" -v b="$so" 'BEGIN { printf "%.2f", a / b }') |"
echo
echo "| form | rows read | MB read | peak memory MB |"
echo "|---|---|---|---|"
ch -q "SELECT extract(query_id, ':([a-z]+):') AS label, toString(any(read_rows)), toString(round(any(read_bytes) / 1e6, 1)), toString(round(max(memory_usage) / 1e6, 1)) FROM system.query_log WHERE type = 2 AND startsWith(query_id, '$db:') GROUP BY label ORDER BY label DESC FORMAT TSV" \
  | awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
