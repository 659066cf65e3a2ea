#!/bin/bash
# Issue 6 benchmark 4, paired (docs/benchmarks.md, sections "storm4" and "storm5"): two live-sink apps, built from two
# versions of this tool's output folder, started together on CPU 1 and stormed together (each by its own
# wrk -t1 -c16 on /throw, from CPU 0, against one sink on CPU 0) for W seconds, then for 10 s more, over which each
# app's CPU per throwing request is printed. Both see the same machine at the same moments, so a change of a few
# microseconds shows where alternating wrk-storm runs cannot resolve it.
# With "handler" as the fifth argument, main's app runs UseExceptionHandler alone (sdk-storm-app handler): then
# "branch - main" is what ErrorHub costs above the app's own exception handling (issue 6 benchmark 4's measure), paired
# (docs/benchmarks.md, section "storm10"); pass the same folder twice.
# Usage: storm-paired.sh <main output folder> <branch output folder> [W seconds, default 2] [swap: start the branch's app first] [handler]
set -e
MAIN=$1; BRANCH=$2; W=${3:-2}; ORDER=${4:-main-first}; MAIN_MODE=${5:-errorhub}
DIR=$(mktemp -d); cd "$DIR"
LOAD=$(cut -d' ' -f1 /proc/loadavg)
taskset -c 0 dotnet "$BRANCH/ErrorHub.Benchmarks.dll" sdk-storm-sink > sink.out & SINK=$!
until grep -q http sink.out; do sleep 0.1; done; DSN=$(grep -m1 http sink.out)
P1=$((5200 + RANDOM % 300)); P2=$((P1 + 1))
start() { taskset -c 1 dotnet "$1/ErrorHub.Benchmarks.dll" sdk-storm-app "$3" "$2" "$DSN" none > /dev/null & }
if [ "$ORDER" = swap ]; then start "$BRANCH" $P2 errorhub; B=$!; start "$MAIN" $P1 "$MAIN_MODE"; A=$!; else start "$MAIN" $P1 "$MAIN_MODE"; A=$!; start "$BRANCH" $P2 errorhub; B=$!; fi
for p in $P1 $P2; do until curl -s -o /dev/null http://127.0.0.1:$p/ok; do sleep 0.05; done; done
cpu() { awk '{print $14+$15}' /proc/$1/stat; }   # clock ticks (1/100 s)
storm() {   # storm <seconds> <out main> <out branch>
  if [ "$ORDER" = swap ]; then
    taskset -c 0 wrk -t1 -c16 -d$1s http://127.0.0.1:$P2/throw > $3 & W2=$!; taskset -c 0 wrk -t1 -c16 -d$1s http://127.0.0.1:$P1/throw > $2 & W1=$!
  else
    taskset -c 0 wrk -t1 -c16 -d$1s http://127.0.0.1:$P1/throw > $2 & W1=$!; taskset -c 0 wrk -t1 -c16 -d$1s http://127.0.0.1:$P2/throw > $3 & W2=$!
  fi
  wait $W1 $W2
}
storm "$W" /dev/null /dev/null
a0=$(cpu $A); b0=$(cpu $B)
storm 10 main.out branch.out
a1=$(cpu $A); b1=$(cpu $B)
ra=$(grep -o '[0-9]* requests' main.out | cut -d' ' -f1); rb=$(grep -o '[0-9]* requests' branch.out | cut -d' ' -f1)
awk -v t="$(date +%H:%M:%S)" -v l="$LOAD" -v o="$ORDER" -v ca=$((a1 - a0)) -v cb=$((b1 - b0)) -v ra="$ra" -v rb="$rb" 'BEGIN {
  ma = ca * 1e4 / ra; mb = cb * 1e4 / rb
  printf "%s load %s %s: main ('"$MAIN_MODE"') %.1f µs (%d req/s), branch %.1f µs (%d req/s), branch - main %+.1f µs per throwing request\n", t, l, o, ma, ra / 10, mb, rb / 10, mb - ma }'
kill $A $B $SINK; wait $A $B $SINK 2>/dev/null || true
cd /; rm -rf "$DIR"
