#!/usr/bin/env bash
# The issue list's default tab on ClickHouse (Unresolved, sorted by last seen, no environment, release, level or range): its
# page of 50 (with the total, rows_before_limit) and its count on their own, as the store sent them until December 2026
# (every issue of the tab grouped over its issue_days rows, per issue and day) and as it sends them now (issue_totals, one row
# per issue, read FINAL with finalizeAggregation, nothing grouped). One project of N issues, each with 1 to 5 days of rows
# (3 on average, so issue_days holds three times the issues), 80 % with a state (half resolved, a fifth ignored: the
# Unresolved tab leaves 30 % of issues out by a set read from issue_states FINAL), a later day's event for one issue in 150 in
# parts of their own (as a day's inserts are, unmerged). issue_totals is filled as the upgrade fills it (issue_days' last_seen
# states, as they are). Each form is run RUNS times after one warm-up, old and new in turn; prints the medians as the client
# waited (with clickhouse-client's own start) and as the server took (system.query_log), the ratios now/until of the same run,
# and what ClickHouse read. Both forms must answer the same page and the same count: the script compares them and stops otherwise.
#
#   issue-totals-sql.sh PORT [ISSUES] [RUNS]      PORT: a ClickHouse server's native TCP port on 127.0.0.1
#
# The server must log queries (log_queries=1 in its profile). It makes and drops a database of its own.
set -euo pipefail
port=${1:?native port of a ClickHouse server on 127.0.0.1}
issues=${2:-300000}
runs=${3:-5}
db="issue_totals_$$"
ch() { clickhouse-client --host 127.0.0.1 --port "$port" "$@"; }
trap 'ch -q "DROP DATABASE IF EXISTS $db" || true' EXIT

fp="concat('issue-', substring(toString(1000000 + number), 2, 6))"
days_rows() { # $1: the day after the issue's first; $2: which issues
  echo "SELECT 1, 'production', 'error', '', $fp AS fp, toStartOfDay(toDateTime(1700000000 + number * 20 + $1 * 86400, 'UTC')) AS d, countState(), uniqState(toUInt64(number % 1000 + 1)), minState(toUInt32(1700000000 + number * 20 + $1 * 86400)), maxState(toUInt32(1700000000 + number * 20 + $1 * 86400)) FROM numbers($issues) WHERE $2 GROUP BY fp, d"
}
ch -q "CREATE DATABASE $db"
ch -q "CREATE TABLE $db.issue_states (project_id UInt32, fingerprint String, status String, changed_at DateTime('UTC'), resolved_in_release String, triage String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, fingerprint)"
ch -q "CREATE TABLE $db.issue_days (project_id UInt32, environment String, level String, release String, fingerprint String, day DateTime('UTC'), event_count AggregateFunction(count), user_count AggregateFunction(uniq, UInt64), first_seen AggregateFunction(min, UInt32), last_seen AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree PARTITION BY toMonday(day) ORDER BY (project_id, environment, level, release, fingerprint, day)"
ch -q "CREATE TABLE $db.issue_totals (project_id UInt32, fingerprint String, last_seen AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree ORDER BY (project_id, fingerprint)"
for day in 0 1 2 3 4; do
  ch -q "INSERT INTO $db.issue_days $(days_rows $day "number % 5 >= $day")"
done
ch -q "INSERT INTO $db.issue_states SELECT 1, $fp, multiIf(number % 10 < 5, 'resolved', number % 10 < 7, 'ignored', 'unresolved'), toDateTime(1700000000 + number * 20 + 3600, 'UTC'), '', '{}', number FROM numbers($issues) WHERE number % 10 < 8"
ch -q "OPTIMIZE TABLE $db.issue_days FINAL"
ch -q "OPTIMIZE TABLE $db.issue_states FINAL"
ch -q "INSERT INTO $db.issue_totals SELECT project_id, fingerprint, last_seen FROM $db.issue_days"
ch -q "OPTIMIZE TABLE $db.issue_totals FINAL"
# Thirty days later, one issue in 150 has an event again, in two inserts' parts of their own, into both tables (as the views do).
for part in 0 1; do
  ch -q "INSERT INTO $db.issue_days $(days_rows 30 "number % 150 = $part")"
  ch -q "INSERT INTO $db.issue_totals SELECT 1, $fp, maxState(toUInt32(1700000000 + number * 20 + 30 * 86400)) FROM numbers($issues) WHERE number % 150 = $part GROUP BY $fp"
done

tab="fingerprint NOT IN (SELECT fingerprint FROM $db.issue_states FINAL WHERE project_id = 1 AND status IN ('resolved', 'ignored'))"
old_page="SELECT issue_key AS fingerprint, maxMerge(last_seen) AS issue_last_seen FROM (SELECT fingerprint AS issue_key, event_count, user_count, first_seen, last_seen FROM $db.issue_days WHERE project_id = 1 AND $tab) GROUP BY fingerprint ORDER BY issue_last_seen DESC, fingerprint ASC LIMIT 0, 50"
new_page="SELECT fingerprint, finalizeAggregation(last_seen) AS issue_last_seen FROM $db.issue_totals FINAL WHERE project_id = 1 AND $tab ORDER BY issue_last_seen DESC, fingerprint ASC LIMIT 0, 50"
old_count="SELECT uniqExact(issue_key) AS total FROM (SELECT fingerprint AS issue_key FROM $db.issue_days WHERE project_id = 1 AND $tab)"
new_count="SELECT count() AS total FROM (SELECT fingerprint, finalizeAggregation(last_seen) AS issue_last_seen FROM $db.issue_totals FINAL WHERE project_id = 1 AND $tab)"

[ "$(ch -q "$old_page" | md5sum)" = "$(ch -q "$new_page" | md5sum)" ] || { echo "different pages" >&2; exit 1; }
[ "$(ch -q "$old_count")" = "$(ch -q "$new_count")" ] || { echo "different counts" >&2; exit 1; }
total_old=$(ch -q "$old_page FORMAT JSON" | grep -o '"rows_before_limit_at_least": [0-9]*'); total_new=$(ch -q "$new_page FORMAT JSON" | grep -o '"rows_before_limit_at_least": [0-9]*')
[ "$total_old" = "$total_new" ] || { echo "different totals with the page: $total_old / $total_new" >&2; exit 1; }
echo "$issues issues ($(ch -q "SELECT count() FROM $db.issue_days") issue_days rows, $(ch -q "SELECT count() FROM $db.issue_totals") issue_totals rows); tab of $(ch -q "$new_count") issues ($total_new with the page); $runs runs each, in turn"

elapsed() { local start end; start=$(date +%s%N); ch --query_id "$1" -q "$2" > /dev/null; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
echo "| read | client ms, until December 2026 | client ms, now | now / until |"
echo "|---|---|---|---|"
for read in page count; do
  old_sql="old_$read"; new_sql="new_$read"
  ch -q "${!old_sql}" > /dev/null; ch -q "${!new_sql}" > /dev/null
  old_times=(); new_times=()
  for run in $(seq "$runs"); do
    old_times+=("$(elapsed "$db:old-$read:$run" "${!old_sql}")")
    new_times+=("$(elapsed "$db:new-$read:$run" "${!new_sql}")")
  done
  o=$(median "${old_times[@]}"); n=$(median "${new_times[@]}")
  echo "| $read (runs: ${old_times[*]} / ${new_times[*]}) | $o | $n | $(awk -v a="$n" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"
done

ch -q "SYSTEM FLUSH LOGS"
echo
echo "| read | server median ms, until | server median ms, now | now / until | rows read, until → now | MB read, until → now | peak memory MB, until → now |"
echo "|---|---|---|---|---|---|---|"
for read in page count; do
  stats() { ch -q "SELECT toString(quantileExact(0.5)(query_duration_ms)), toString(any(read_rows)), toString(round(any(read_bytes) / 1e6, 1)), toString(round(max(memory_usage) / 1e6, 1)) FROM system.query_log WHERE type = 2 AND startsWith(query_id, '$db:$1-$read:') FORMAT TSV"; }
  IFS=$'\t' read -r so ro bo mo <<< "$(stats old)"; IFS=$'\t' read -r sn rn bn mn <<< "$(stats new)"
  echo "| $read | $so | $sn | $(awk -v a="$sn" -v b="$so" 'BEGIN { printf "%.2f", a / b }') | $ro → $rn | $bo → $bn | $mo → $mn |"
done
