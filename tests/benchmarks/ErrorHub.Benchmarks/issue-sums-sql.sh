#!/usr/bin/env bash
# The issue list's Unresolved tab on ClickHouse sorted by events, users and first seen (no environment, release, level or
# range): its page of 50 with its total (rows_before_limit) as the store sends it (every issue of the tab grouped over its
# issue_days rows, per issue and day), against two exact per-issue forms tried in December 2026 and not taken
# (docs/benchmarks.md §107): issue_sums, rows per issue and week fed as a view would, grouped per issue, the week that
# retention cuts read from issue_days instead; and issue_one, one row per issue read FINAL (not grouped), the issues first
# seen before the project's oldest kept day counted from their issue_days rows. One project of N issues, each with 1 to 5
# days of rows (3 on average) of 1 to 6 events, 80 % with a state (the tab leaves 70 % out), a later day's events for one
# issue in 150 in parts of their own; the per-issue tables filled as an upgrade would; then retention takes the days before
# the day on which the (N/20)-th issue first appeared (issue_days rows deleted, issue_sums rows whose last second is before the cutoff
# deleted). Each form is run RUNS times after one warm-up, in turn; prints the server's medians (system.query_log), the
# ratios to the grouped form of the same run, and what ClickHouse read. Every form must answer the same page and total:
# the script compares them and stops otherwise.
#
#   issue-sums-sql.sh PORT [ISSUES] [RUNS]      PORT: a ClickHouse server's native TCP port on 127.0.0.1
#
# The server must log queries (log_queries=1 in its profile). It makes and drops a database of its own.
set -euo pipefail
port=${1:?native port of a ClickHouse server on 127.0.0.1}
issues=${2:-300000}
runs=${3:-5}
db="issue_sums_$$"
ch() { clickhouse-client --host 127.0.0.1 --port "$port" "$@"; }
trap 'ch -q "DROP DATABASE IF EXISTS $db" || true' EXIT

fp="concat('issue-', substring(toString(1000000 + number), 2, 6))"
days_rows() { # $1: the day after the issue's first; $2: which issues
  local at="toUInt32(1700000000 + number * 20 + $1 * 86400 + (number * 7919) % 3600)"
  echo "SELECT toUInt32(1) AS project_id, 'production', 'error', '', $fp AS fp, toStartOfDay(toDateTime($at, 'UTC')) AS d, countState() AS event_count, uniqState(toUInt64(number % 1000 + 1)) AS user_count, minState($at) AS first_seen, maxState($at) AS last_seen FROM numbers($issues) ARRAY JOIN range(toUInt64(1 + (number * 13 + $1) % 6)) AS copy WHERE $2 GROUP BY fp, d"
}
ch -q "CREATE DATABASE $db"
ch -q "CREATE TABLE $db.issue_states (project_id UInt32, fingerprint String, status String, changed_at DateTime('UTC'), resolved_in_release String, triage String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, fingerprint)"
ch -q "CREATE TABLE $db.issue_days (project_id UInt32, environment String, level String, release String, fingerprint String, day DateTime('UTC'), event_count AggregateFunction(count), user_count AggregateFunction(uniq, UInt64), first_seen AggregateFunction(min, UInt32), last_seen AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree PARTITION BY toMonday(day) ORDER BY (project_id, environment, level, release, fingerprint, day)"
ch -q "CREATE TABLE $db.issue_sums (project_id UInt32, fingerprint String, week Date, backfilled UInt8, event_count AggregateFunction(count), user_count AggregateFunction(uniq, UInt64), first_seen AggregateFunction(min, UInt32), last_seen AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree ORDER BY (project_id, fingerprint, week, backfilled)"
for day in 0 1 2 3 4; do
  ch -q "INSERT INTO $db.issue_days $(days_rows $day "number % 5 >= $day")"
done
ch -q "INSERT INTO $db.issue_states SELECT 1, $fp, multiIf(number % 10 < 5, 'resolved', number % 10 < 7, 'ignored', 'unresolved'), toDateTime(1700000000 + number * 20 + 3600, 'UTC'), '', '{}', number FROM numbers($issues) WHERE number % 10 < 8"
ch -q "OPTIMIZE TABLE $db.issue_days FINAL"
ch -q "OPTIMIZE TABLE $db.issue_states FINAL"
ch -q "INSERT INTO $db.issue_sums SELECT project_id, fingerprint, toMonday(day), 1, event_count, user_count, first_seen, last_seen FROM $db.issue_days"
ch -q "OPTIMIZE TABLE $db.issue_sums FINAL"
# Thirty days later, one issue in 150 has events again, in two inserts' parts of their own, into both tables (as the views do).
for part in 0 1; do
  ch -q "INSERT INTO $db.issue_days $(days_rows 30 "number % 150 = $part")"
  ch -q "INSERT INTO $db.issue_sums SELECT project_id, fp, toMonday(d), 0, countMergeState(event_count), uniqMergeState(user_count), minMergeState(first_seen), maxMergeState(last_seen) FROM ($(days_rows 30 "number % 150 = $part")) GROUP BY project_id, fp, toMonday(d)"
done
# Retention of the days before the day on which the (N/20)-th issue first appeared (that day's week is cut), as ClickHouseRetention does it.
cutoff="toDateTime(toStartOfDay(toDateTime(1700000000 + $issues, 'UTC')), 'UTC')"
ch -q "ALTER TABLE $db.issue_days DELETE WHERE project_id = 1 AND day < $cutoff"
ch -q "ALTER TABLE $db.issue_sums DELETE WHERE project_id = 1 AND finalizeAggregation(last_seen) < toUnixTimestamp($cutoff)"
until [ "$(ch -q "SELECT count() FROM system.mutations WHERE database = '$db' AND is_done = 0")" = 0 ]; do sleep 1; done

tab="fingerprint NOT IN (SELECT fingerprint FROM $db.issue_states FINAL WHERE project_id = 1 AND status IN ('resolved', 'ignored'))"
kept=$(ch -q "SELECT toUInt32(toUnixTimestamp(min(day))) FROM $db.issue_days WHERE project_id = 1")
cut_week="toMonday(toDateTime($kept, 'UTC'))"
old_page() { # $1 column, $2 merge, $3 alias
  echo "SELECT issue_key AS fingerprint, $2($1) AS $3 FROM (SELECT fingerprint AS issue_key, event_count, user_count, first_seen, last_seen FROM $db.issue_days WHERE project_id = 1 AND $tab) GROUP BY fingerprint ORDER BY $3 DESC, fingerprint ASC LIMIT 0, 50"
}
new_page() { # per-week rows (the project's oldest kept day read before, as a store would)
  echo "SELECT issue_key AS fingerprint, $2($1) AS $3 FROM (SELECT fingerprint AS issue_key, $1 FROM $db.issue_sums WHERE project_id = 1 AND week > $cut_week AND $tab UNION ALL SELECT fingerprint AS issue_key, $1 FROM $db.issue_days WHERE project_id = 1 AND day < toDateTime($cut_week, 'UTC') + 7 * 86400 AND $tab) GROUP BY fingerprint ORDER BY $3 DESC, fingerprint ASC LIMIT 0, 50"
}
alt_page() { # one row per issue read FINAL (not grouped), the issues first seen before the oldest kept day counted from issue_days
  echo "SELECT fingerprint, $3 FROM (SELECT fingerprint, finalizeAggregation($1) AS $3 FROM $db.issue_one FINAL WHERE project_id = 1 AND $tab AND finalizeAggregation(first_seen) >= $kept UNION ALL SELECT fingerprint, $2($1) AS $3 FROM $db.issue_days WHERE project_id = 1 AND $tab AND fingerprint IN (SELECT fingerprint FROM $db.issue_one FINAL WHERE project_id = 1 AND finalizeAggregation(first_seen) < $kept) GROUP BY fingerprint) ORDER BY $3 DESC, fingerprint ASC LIMIT 0, 50 SETTINGS optimize_move_to_prewhere = 0"
}
ch -q "CREATE TABLE $db.issue_one (project_id UInt32, fingerprint String, event_count AggregateFunction(count), user_count AggregateFunction(uniq, UInt64), first_seen AggregateFunction(min, UInt32), last_seen AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree ORDER BY (project_id, fingerprint)"
ch -q "INSERT INTO $db.issue_one SELECT project_id, fingerprint, event_count, user_count, first_seen, last_seen FROM $db.issue_sums"
stale=$(ch -q "SELECT count() FROM $db.issue_one FINAL WHERE project_id = 1 AND finalizeAggregation(first_seen) < $kept SETTINGS optimize_move_to_prewhere = 0")
echo "$issues issues ($(ch -q "SELECT count() FROM $db.issue_days") issue_days rows, $(ch -q "SELECT count() FROM $db.issue_sums") issue_sums rows; $stale issues first seen before the oldest kept day; issue_one: those rows folded per issue); $runs runs each, in turn"

sorts=("event_count countMerge issue_events" "user_count uniqMerge issue_users" "first_seen minMerge issue_first_seen")
for sort in "${sorts[@]}"; do
  read -r column merge alias <<< "$sort"
  o=$(old_page "$column" "$merge" "$alias"); n=$(new_page "$column" "$merge" "$alias"); a=$(alt_page "$column" "$merge" "$alias")
  [ "$(ch -q "$o" | md5sum)" = "$(ch -q "$n" | md5sum)" ] || { echo "different pages by $alias" >&2; exit 1; }
  [ "$(ch -q "$o" | md5sum)" = "$(ch -q "$a" | md5sum)" ] || { echo "different pages by $alias (alternative)" >&2; exit 1; }
  to=$(ch -q "$o FORMAT JSON" | grep -o '"rows_before_limit_at_least": [0-9]*'); tn=$(ch -q "$n FORMAT JSON" | grep -o '"rows_before_limit_at_least": [0-9]*')
  [ "$to" = "$tn" ] || { echo "different totals by $alias: $to / $tn" >&2; exit 1; }
  echo "by $alias: the same page of 50 and total ($tn)"
  ch -q "$o" > /dev/null; ch -q "$n" > /dev/null
  for run in $(seq "$runs"); do
    ch --query_id "$db:old-$alias:$run" -q "$o" > /dev/null
    ch --query_id "$db:new-$alias:$run" -q "$n" > /dev/null
    ch --query_id "$db:alt-$alias:$run" -q "$a" > /dev/null
  done
done

ch -q "SYSTEM FLUSH LOGS"
echo
echo "| page of 50 with its total, by | server median ms, until | per-week rows | / until | one row per issue, FINAL | / until | rows read, until → weeks → one | peak memory MB, until → weeks → one |"
echo "|---|---|---|---|---|---|---|---|"
for sort in "${sorts[@]}"; do
  read -r column merge alias <<< "$sort"
  stats() { ch -q "SELECT toString(quantileExact(0.5)(query_duration_ms)), toString(any(read_rows)), toString(round(max(memory_usage) / 1e6, 1)) FROM system.query_log WHERE type = 2 AND startsWith(query_id, '$db:$1-$alias:') FORMAT TSV"; }
  IFS=$'\t' read -r so ro mo <<< "$(stats old)"; IFS=$'\t' read -r sn rn mn <<< "$(stats new)"; IFS=$'\t' read -r sa ra ma <<< "$(stats alt)"
  echo "| $alias | $so | $sn | $(awk -v a="$sn" -v b="$so" 'BEGIN { printf "%.2f", a / b }') | $sa | $(awk -v a="$sa" -v b="$so" 'BEGIN { printf "%.2f", a / b }') | $ro → $rn → $ra | $mo → $mn → $ma |"
done
