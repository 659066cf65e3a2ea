#!/bin/bash
# Issue 6 benchmark 4: what wakes the runtime's timer thread in an exception storm (docs/benchmarks.md, section "storm12").
# One app of this tool's output folder on CPU 1, stormed by wrk -t1 -c16 on /throw from CPU 0 against the fast sink on
# CPU 0, twice:
#   1. with the timer census ("<mode>+timers"): which code scheduled which timers, which of them fired and which re-armed
#      the timer thread, over 8 s of the storm (the census slows the app: read its counts per batch, not its rates);
#   2. without it, under perf: the app's CPU, context switches, sched_yield and futex calls over 8 s, and futex calls by
#      thread over 5 s (the ".NET Timer" thread's are its rounds: a wait, and a
#      wake of a pool thread when a timer is due), and the requests served meanwhile.
# Only 127.0.0.1 is contacted; every phase is bounded in time. Needs wrk and perf (Debian packages).
# Usage: storm-timers.sh <output folder> [mode, default errorhub]
set -e
OUT=$1; MODE=${2:-errorhub}
DIR=$(mktemp -d); cd "$DIR"
taskset -c 0 dotnet "$OUT/ErrorHub.Benchmarks.dll" sdk-storm-sink > sink.out & SINK=$!
until grep -q http sink.out; do sleep 0.1; done; DSN=$(grep -m1 http sink.out)
run() {   # run <mode> <port>: starts the app, waits for it, storms it for 12 s in the background
  taskset -c 1 dotnet "$OUT/ErrorHub.Benchmarks.dll" sdk-storm-app "$1" "$2" "$DSN" none > /dev/null & APP=$!
  until curl -s -o /dev/null http://127.0.0.1:$2/ok; do sleep 0.05; done
  taskset -c 0 wrk -t1 -c16 -d12s http://127.0.0.1:$2/throw > wrk.out & WRK=$!
}
P=$((5600 + RANDOM % 300))
echo "// $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg), $OUT, $MODE"
run "$MODE+timers" $P
sleep 3; curl -s -X POST http://127.0.0.1:$P/timers/reset > /dev/null; sleep 8
curl -s http://127.0.0.1:$P/timers
wait $WRK; echo "// census run: $(grep -o '[0-9.]*k\? *requests in' wrk.out)"
kill $APP; wait $APP 2>/dev/null || true

run "$MODE" $((P + 1))
sleep 3
perf stat -x, -e task-clock,context-switches,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex -p $APP -o stat.out -- sleep 8 & PSTAT=$!
perf record -q -e syscalls:sys_enter_futex -p $APP -o futex.data -- sleep 5 2> /dev/null
wait $WRK $PSTAT
echo "// without the census: $(grep -o '[0-9]* requests in [0-9.]*s' wrk.out); over 8 s of it (perf stat: value, event):"
grep -v '^#' stat.out | grep . | cut -d, -f1,3
echo "// futex calls in 5 s by thread:"
perf script -i futex.data -F comm 2> /dev/null | sort | uniq -c | sort -rn | head -8
kill $APP $SINK; wait $APP $SINK 2>/dev/null || true
cd /; rm -rf "$DIR"
