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
# The NativeAOT publish test links with the platform's C toolchain and zlib.
{ command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; } || packages+=(clang)
[ -f /usr/include/zlib.h ] || packages+=(zlib1g-dev)
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
  --blame-hang-timeout 10m 2>&1 | tee "$results/run.log"
status=${PIPESTATUS[0]}
# A crashed or hung test host loses its project's results: such a run is never made green by running failures again.
broke=0
grep -qE "Test host process crashed|test run was aborted|The active Test Run was aborted" "$results/run.log" && broke=1

# --- a second chance for a few failed tests ----------------------------------------------------
# The tests run real servers (ClickHouse 18.16 and its cluster with ZooKeeper, a browser, SMTP) on a small machine; a
# test that fails once and passes when run again on its own is reported by name as RETRIED, never hidden. Many
# failures at once are not a matter of chance and are not run again.
trx=tests/tools/trx.py
read -r passed failed skipped files < <(python3 "$trx" counts "$results")
python3 "$trx" report "$results"
if [ "$broke" -eq 0 ] && [ "$failed" -gt 0 ] && [ "$failed" -le 20 ]; then
  mapfile -t again < <(python3 "$trx" failed "$results")
  if [ ${#again[@]} -gt 0 ]; then
    log "running the ${#again[@]} failed test methods once more"
    filter_again=$(printf 'FullyQualifiedName=%s|' "${again[@]}")
    dotnet test ErrorHub.sln -c Debug --no-build -nologo --filter "${filter_again%|}" \
      --logger "trx" --logger "console;verbosity=normal" \
      --results-directory "$results/again" \
      --blame-hang-timeout 10m
    again_status=$?
    read -r again_passed again_failed _ _ < <(python3 "$trx" counts "$results/again")
    for method in "${again[@]}"; do
      if python3 "$trx" failed "$results/again" | grep -qxF "$method"; then
        echo "FAILED AGAIN: $method"
      else
        echo "RETRIED: $method failed once and passed when run again"
      fi
    done
    if [ "$again_status" -eq 0 ] && [ "$again_failed" -eq 0 ] && [ "$again_passed" -gt 0 ]; then
      passed=$((passed + failed)); failed=0; status=0
    else
      python3 "$trx" report "$results/again"
      passed=$((passed + failed - again_failed)); [ "$passed" -ge 0 ] || passed=0
      failed=$((again_failed > 0 ? again_failed : failed))
    fi
  fi
fi

# --- one summary line ---------------------------------------------------------------------------
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the run broke before it could record a failure (crash, hang): never report green
fi
[ "$files" -gt 0 ] || failed=$((failed + 1))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
