#!/usr/bin/env bash
# Runs every ErrorHub test: unit, integration (a real ClickHouse, a two-node ClickHouse cluster with ZooKeeper,
# real SQLite), system (real processes over loopback), browser (Playwright driving Debian's chromium) and e-mail (a real SMTP server, aiosmtpd).
# Installs what the tests need when it is missing, then prints one summary line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

log() { printf '==> %s\n' "$*" >&2; }

# --- what the tests need from the machine -------------------------------------------------------
packages=()
[ -x /usr/sbin/clickhouse-server ] || packages+=(clickhouse-server clickhouse-client)
# The cluster tests run Debian's ZooKeeper (and its Java) beside two clickhouse-server processes.
{ [ -f /usr/share/java/zookeeper.jar ] && [ -x /usr/bin/java ]; } || packages+=(zookeeper)
[ -x /usr/bin/chromium ] || packages+=(chromium)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || packages+=(python3-aiosmtpd)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ ${#packages[@]} -gt 0 ]; then
  log "installing ${packages[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null \
    || { echo "could not install ${packages[*]}" >&2; echo "0 passed, 1 failed"; exit 1; }
fi

crosscheck=tests/tools/msgpack-crosscheck
if [ -f "$crosscheck/package.json" ] && [ ! -d "$crosscheck/node_modules" ]; then
  log "installing the MessagePack cross-check tool (npm ci)"
  npm ci --prefix "$crosscheck" --no-audit --no-fund --loglevel=error >/dev/null \
    || { echo "npm ci failed in $crosscheck" >&2; echo "0 passed, 1 failed"; exit 1; }
fi

# --- build and test ---------------------------------------------------------------------------
results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

log "building"
if ! dotnet build ErrorHub.sln -c Debug -nologo -v:q; then
  echo "build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

log "testing"
# The two-node ClickHouse cluster tests run by default (CI runs them). A developer in a hurry may leave them out
# with ERRORHUB_SKIP_CLUSTER_TESTS=1; CI never sets it.
filter=()
if [ "${ERRORHUB_SKIP_CLUSTER_TESTS:-0}" = "1" ]; then
  log "leaving out the ClickHouse cluster tests (ERRORHUB_SKIP_CLUSTER_TESTS=1)"
  filter=(--filter "FullyQualifiedName!~ErrorHub.Storage.Tests.Cluster.")
fi
dotnet test ErrorHub.sln -c Debug --no-build -nologo "${filter[@]}" \
  --logger "trx" --logger "console;verbosity=normal" \
  --results-directory "$results" \
  --blame-hang-timeout 10m
status=$?

# --- one summary line, summed from the TRX files ------------------------------------------------
passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  value() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  skipped=$((skipped + $(value notExecuted)))
done
# Name every failed test (with the first lines of its message) just above the summary line, so that the tail of a
# CI log, which is often all there is to read, says what failed.
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  awk '
    /<UnitTestResult / && /outcome="(Failed|Error|Timeout|Aborted)"/ {
      name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name); print "FAILED: " name; want = 1; next }
    want && /<Message>/ { inmsg = 1; lines = 0; sub(/.*<Message>/, "") }
    inmsg { line = $0; done = sub(/<\/Message>.*/, "", line); if (lines < 4 && line != "") { print "    " line; lines++ }
            if (done) { inmsg = 0; want = 0 } }
    /<\/UnitTestResult>/ { want = 0; inmsg = 0 }
  ' "$trx"
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the run broke before it could record a failure (crash, hang): never report green
fi
[ "$files" -gt 0 ] || failed=$((failed + 1))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
