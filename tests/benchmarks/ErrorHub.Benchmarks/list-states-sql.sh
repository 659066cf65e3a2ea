#!/usr/bin/env bash
# The issue list's reads of issue states on ClickHouse, as the store sent them before (latest row per issue by
# GROUP BY fingerprint ... argMax(..., version)) and as it sends them now (the table read with FINAL), against one project
# of N issues (one event each, one issue_days row) of which 80 % have a state: 50 % resolved, 20 % ignored (half until
# 100 more events), 10 % unresolved and assigned, one in a hundred changed before its event; plus a second write of a tenth of the states (a change each), so that
# the latest row must be chosen among parts. Each query is run RUNS times after one warm-up; prints the median, the
# ratio new/old of the same run, and what ClickHouse read (system.query_log). Both forms must answer the same rows:
# the script compares their checksums and stops otherwise.
#
#   list-states-sql.sh PORT [ISSUES] [RUNS]      PORT: a ClickHouse server's native TCP port on 127.0.0.1
#
# The server must log queries (log_queries=1 in its profile). It makes and drops a database of its own.
set -euo pipefail
port=${1:?native port of a ClickHouse server on 127.0.0.1}
issues=${2:-300000}
runs=${3:-5}
db="list_states_$$"
ch() { clickhouse-client --host 127.0.0.1 --port "$port" "$@"; }
trap 'ch -q "DROP DATABASE IF EXISTS $db" || true' EXIT

fp="concat('issue-', substring(toString(1000000 + number), 2, 6))"
ch -q "CREATE DATABASE $db"
ch -q "CREATE TABLE $db.issue_states (project_id UInt32, fingerprint String, status String, changed_at DateTime('UTC'), resolved_in_release String, triage String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, fingerprint)"
ch -q "CREATE TABLE $db.issue_days (project_id UInt32, environment String, level String, release String, fingerprint String, day DateTime('UTC'), event_count AggregateFunction(count), user_count AggregateFunction(uniq, UInt64), first_seen AggregateFunction(min, UInt32), last_seen AggregateFunction(max, UInt32)) ENGINE = AggregatingMergeTree PARTITION BY toMonday(day) ORDER BY (project_id, environment, level, release, fingerprint, day)"
ch -q "INSERT INTO $db.issue_days SELECT 1, 'production', 'error', '', $fp AS fp, toStartOfDay(toDateTime(1700000000 + number * 200, 'UTC')) AS d, countState(), uniqState(toUInt64(number % 1000 + 1)), minState(toUInt32(1700000000 + number * 200)), maxState(toUInt32(1700000000 + number * 200)) FROM numbers($issues) GROUP BY fp, d"
triage="multiIf(number % 10 < 5, '{\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}', number % 10 < 7 AND number % 2 = 0, '{\"ignoredUntilEvents\":100,\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}', number % 10 < 7, '{\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}', '{\"assigneeId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"actions\":\"0f8fad5bd9cb469fa16570867728950e\"}')"
ch -q "INSERT INTO $db.issue_states SELECT 1, $fp, multiIf(number % 10 < 5, 'resolved', number % 10 < 7, 'ignored', 'unresolved'), toDateTime(1700000000 + number * 200 + if(number % 100 = 1, -3600, 3600), 'UTC'), '', $triage, number FROM numbers($issues) WHERE number % 10 < 8"
ch -q "OPTIMIZE TABLE $db.issue_days FINAL"
ch -q "OPTIMIZE TABLE $db.issue_states FINAL"
# A tenth of the states changed once more (resolved <-> ignored), in a part of its own.
ch -q "INSERT INTO $db.issue_states SELECT 1, $fp, if(number % 10 < 5, 'ignored', 'resolved'), toDateTime(1700000000 + number * 200 + 7200, 'UTC'), '', '{}', 1000000000 + number FROM numbers($issues) WHERE number % 10 < 7 AND number % 100 < 10"

old_states() { # $1: condition on the latest row (state_status, state_triage)
  echo "SELECT fingerprint AS fp, toUnixTimestamp(argMax(changed_at, version)) AS state_changed, argMax(status, version) AS state_status, argMax(triage, version) AS state_triage FROM $db.issue_states WHERE project_id = 1 GROUP BY fingerprint HAVING $1"
}
new_states() { # $1: condition on the row (status, triage)
  echo "SELECT fingerprint AS fp, toUnixTimestamp(changed_at) AS state_changed FROM $db.issue_states FINAL WHERE project_id = 1 AND ($1)"
}
page() { # $1: condition on issue_days.fingerprint
  echo "SELECT fingerprint, maxMerge(last_seen) AS seen FROM $db.issue_days WHERE project_id = 1 AND $1 GROUP BY fingerprint ORDER BY seen DESC, fingerprint LIMIT 0, 51"
}
count() { echo "SELECT uniqExact(fingerprint) FROM $db.issue_days WHERE project_id = 1 AND $1"; }
seen() { # $1: the states that end with events
  echo "SELECT fp, max(seen) AS issue_last_seen, sum(events) AS issue_events, any(state_changed) AS changed FROM (SELECT fingerprint AS fp, maxMerge(last_seen) AS seen, countMerge(event_count) AS events FROM $db.issue_days WHERE project_id = 1 AND fingerprint IN (SELECT fp FROM ($1)) GROUP BY fingerprint) ANY INNER JOIN ($1) USING fp GROUP BY fp HAVING issue_last_seen > changed ORDER BY fp"
}
assigned_old="SELECT fingerprint, argMax(status, version) AS state_status, toUnixTimestamp(argMax(changed_at, version)) AS state_changed, argMax(resolved_in_release, version) AS state_release, argMax(triage, version) AS state_triage FROM $db.issue_states WHERE project_id = 1 GROUP BY fingerprint HAVING visitParamHas(state_triage, 'assigneeId') OR (state_status = 'ignored' AND visitParamHas(state_triage, 'ignoredUntil')) ORDER BY fingerprint"
assigned_new="SELECT fingerprint, status AS state_status, toUnixTimestamp(changed_at) AS state_changed, resolved_in_release AS state_release, triage AS state_triage FROM $db.issue_states FINAL WHERE project_id = 1 AND (visitParamHas(triage, 'assigneeId') OR (status = 'ignored' AND visitParamHas(triage, 'ignoredUntil'))) ORDER BY fingerprint"
ends_old="state_status = 'resolved' OR (state_status = 'ignored' AND (visitParamHas(state_triage, 'ignoredUntilEvents') OR visitParamHas(state_triage, 'ignoredUntilUsers')))"
ends_new="status = 'resolved' OR (status = 'ignored' AND (visitParamHas(triage, 'ignoredUntilEvents') OR visitParamHas(triage, 'ignoredUntilUsers')))"
set_old() { echo "SELECT fp FROM ($(old_states "state_status IN ($1)"))"; }
set_new() { echo "SELECT fp FROM ($(new_states "status IN ($1)"))"; }

measure() { # label, query; prints the median ms; each run's query id names the database and the label
  local label=${1// /_} query=$2 times=()
  ch -q "$query" > /dev/null
  for run in $(seq "$runs"); do
    local start end
    start=$(date +%s%N); ch --query_id "$db:$label:$run" -q "$query" > /dev/null; end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

same() { # old, new: both answer the same rows
  [ "$(ch -q "$1" | md5sum)" = "$(ch -q "$2" | md5sum)" ] || { echo "different answers: $1 / $2" >&2; exit 1; }
}

echo "| read ($issues issues) | GROUP BY + argMax | FINAL | FINAL / argMax |"
echo "|---|---|---|---|"
row() { # label, old query, new query
  same "$2" "$3"
  local old new
  old=$(measure "$1-old" "$2"); new=$(measure "$1-new" "$3")
  echo "| $1 | $old ms | $new ms | $(awk -v a="$new" -v b="$old" 'BEGIN { printf "%.2f", a / b }') |"
}
row "unresolved page" "$(page "fingerprint NOT IN ($(set_old "'resolved', 'ignored'"))")" "$(page "fingerprint NOT IN ($(set_new "'resolved', 'ignored'"))")"
row "unresolved count" "$(count "fingerprint NOT IN ($(set_old "'resolved', 'ignored'"))")" "$(count "fingerprint NOT IN ($(set_new "'resolved', 'ignored'"))")"
row "resolved page" "$(page "fingerprint IN ($(set_old "'resolved'"))")" "$(page "fingerprint IN ($(set_new "'resolved'"))")"
row "resolved count" "$(count "fingerprint IN ($(set_old "'resolved'"))")" "$(count "fingerprint IN ($(set_new "'resolved'"))")"
row "assigned or timed states" "$assigned_old" "$assigned_new"
row "issues seen after their change" "$(seen "$(old_states "$ends_old")")" "$(seen "$(new_states "$ends_new")")"

ch -q "SYSTEM FLUSH LOGS"
echo
echo "| query | rows read | MB read | peak memory MB |"
echo "|---|---|---|---|"
ch -q "SELECT replaceAll(extract(query_id, ':([a-z_-]+):'), '_', ' ') AS label, toString(any(read_rows)), toString(round(any(read_bytes) / 1e6, 1)), toString(round(max(memory_usage) / 1e6, 1)) FROM system.query_log WHERE type = 2 AND startsWith(query_id, '$db:') GROUP BY label ORDER BY label FORMAT TSV" \
  | awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
