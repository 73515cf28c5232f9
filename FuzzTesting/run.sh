#!/usr/bin/env bash
# Builds the libFuzzer targets with -sanitize=fuzzer,address and runs each for the seconds given (default 600),
# seeded with the recorded Mesos traffic in Fixtures/. Prints one line per target:
#   bench=fuzz target=<name> seconds=<s> executions=<n> result=clean|crash
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
targets=${FUZZ_TARGETS:-"FuzzRecordIO FuzzJSON FuzzProtobuf"}
echo "# building the fuzz targets (debug, fuzzer and address sanitizers)" >&2
swift build -c debug --scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -parse-as-library \
  -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp > .build-fuzz.log 2>&1 \
  || { grep -E 'error' -A5 .build-fuzz.log | head -40; exit 1; }
bin=.build-fuzz/debug
fixtures=../Fixtures/mesos-1.11
status=0
for target in $targets; do
  corpus=corpus-$target
  mkdir -p "$corpus"
  case $target in   # seeds: a type byte, then a recorded body (one file per record)
    FuzzRecordIO) for f in $fixtures/*/*.recordio; do { printf '\007'; head -c 4096 "$f"; } > "$corpus/seed-$(basename "$f")"; done ;;
    FuzzJSON) i=0; for f in $fixtures/json/subscribe_events.jsonl $fixtures/executor/executor_events.jsonl; do
                 while IFS= read -r line; do i=$((i+1)); { printf '\000'; printf '%s' "$line"; } > "$corpus/seed-$i"; done < "$f"; done ;;
    FuzzProtobuf) for f in $fixtures/protobuf/call_*.bin; do { printf '\001'; cat "$f"; } > "$corpus/seed-$(basename "$f")"; done ;;
  esac
  log=$(mktemp)
  if "$bin/$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "$corpus" > "$log" 2>&1; then
    result=clean
  else
    result=crash; status=1; tail -40 "$log"
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  echo "bench=fuzz target=$target seconds=$seconds executions=$runs result=$result"
  rm -f "$log"
done
exit $status
