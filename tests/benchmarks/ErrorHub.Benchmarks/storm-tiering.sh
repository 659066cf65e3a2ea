#!/bin/bash
# Issue 6 benchmark 4: when the runtime's tiered compilation holds back during a storm, and which methods are first
# called meanwhile (docs/benchmarks.md, section "storm13"). One app of this tool's output folder with "+tiering" on
# CPU 1, driven through wrk-storm's phases (2 s of /throw, 1 s of /ok, 10 s of /throw, then 10 s of /throw and /ok
# together, wrk -t1 -c16 each from CPU 0, the sink on CPU 0); then the runtime's TieredCompilationPause/Resume events
# (a pause: call counting, and so every promotion to optimized code, waits until no method has been called for the first
# time for a while; 1 s on a one-core app), the background JIT's pending and compiled methods by second, and the first
# calls (R2RGetEntryPoint) of the window. Only 127.0.0.1 is contacted; every phase is bounded in time.
# Usage: storm-tiering.sh <output folder> [mode, default errorhub] [log file, default: tiering-<mode>.txt here] [late seconds]
# With late seconds, the app serves /ok alone that long before the storm (a late storm). Ends with the storm's compiles
# and first calls by owner (storm-owners.awk: tier-0 compiles, compiles optimized at first call, background recompiles,
# with the JIT's milliseconds, and first calls of precompiled code), over its first 3 s and the 20 s after.
set -e
OUT=$1; MODE=${2:-errorhub}; LOG=${3:-$PWD/tiering-$MODE.txt}; LATE=${4:-0}
HERE=$(cd "$(dirname "$0")" && pwd); DIR=$(mktemp -d); cd "$DIR"
taskset -c 0 dotnet "$OUT/ErrorHub.Benchmarks.dll" sdk-storm-sink > sink.out & SINK=$!
until grep -q http sink.out; do sleep 0.1; done; DSN=$(grep -m1 http sink.out)
P=$((6100 + RANDOM % 300))
taskset -c 1 dotnet "$OUT/ErrorHub.Benchmarks.dll" sdk-storm-app "$MODE+tiering" $P "$DSN" none > /dev/null & APP=$!
until curl -s -o /dev/null http://127.0.0.1:$P/ok; do sleep 0.05; done
if [ "$LATE" -gt 0 ]; then taskset -c 0 wrk -t1 -c16 -d${LATE}s http://127.0.0.1:$P/ok > /dev/null; fi
taskset -c 0 wrk -t1 -c16 -d2s http://127.0.0.1:$P/throw > /dev/null
taskset -c 0 wrk -t1 -c16 -d1s http://127.0.0.1:$P/ok > /dev/null
taskset -c 0 wrk -t1 -c16 -d10s http://127.0.0.1:$P/throw > throw.out
taskset -c 0 wrk -t1 -c16 -d10s http://127.0.0.1:$P/throw > /dev/null & W=$!
taskset -c 0 wrk -t1 -c16 -d10s http://127.0.0.1:$P/ok > ok.out; wait $W
curl -s http://127.0.0.1:$P/tiering > "$LOG"
kill $APP $SINK; wait $APP $SINK 2>/dev/null || true
echo "// $(date -u +%H:%M:%S) $MODE: /throw alone $(grep -o '[0-9.]*$' <(grep Requests/sec throw.out)) req/s, /ok beside the storm $(grep -o '[0-9.]*$' <(grep Requests/sec ok.out)) req/s; seconds since the app's start:"
echo "// pauses (P) and resumes (R) of tiered compilation:"
grep -E 'TieredCompilation(Pause|Resume)' "$LOG" | awk '{printf "%s%s ", ($2 ~ /Pause/ ? "P" : "R"), $1} END {print ""}'
echo "// background JIT by second: pending at the end of the second / methods compiled in it:"
awk '/BackgroundJitStop/ {t = int($1); split($4, a, "="); split($5, b, "="); p[t] = a[2]; j[t] += b[2]} END {for (t in p) print t ": " p[t] " / " j[t]}' "$LOG" | sort -n | tr '\n' ' '; echo
echo "// first calls (precompiled methods' entry points, methods compiled at tier 0) $((9 + LATE)) s after the start and later, by second:"
awk -v t=$((9 + LATE)) '$1 > t && ($2 == "R2RGetEntryPoint" || $2 ~ /^MethodLoadVerbose/) {print int($1)}' "$LOG" | sort -n | uniq -c | awk '{printf "%s: %s  ", $2, $1} END {print ""}'
# By owner (docs/benchmarks.md, section 86): from the storm's first request (the app's first DeepThrow compile) on.
S=$(awk '/DeepThrow::/ {print $1; exit}' "$LOG")
for w in "0 3" "3 23"; do set -- $w
  echo "// compiles and first calls by owner, $1-$2 s after the storm's first request ($S s after the start):"
  awk -v FROM=$(echo "$S + $1" | bc) -v TO=$(echo "$S + $2" | bc) -f "$HERE/storm-owners.awk" "$LOG"
done
cd /; rm -rf "$DIR"
