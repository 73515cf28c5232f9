#!/usr/bin/env bash
# `run.sh cluster` (part of `make bench`): the local master, the scheduler client, the launcher and mesos-submit
# measured against local masters. Prints bench=local-launch, local-offer-cycle, scheduler-calls, scheduler-stream,
# scheduler-failover, submit-latency and submit-instances lines (see Sources/ClusterBenchmark/main.swift).
# Env: PARTS (all of them), CORPUS_DIR (/tmp/peers-corpus, written by ../shared/bench/peers/run.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
PARTS=${PARTS:-"launch offer-cycle calls stream failover submit instances"}
CORPUS_DIR=${CORPUS_DIR:-/tmp/peers-corpus}

echo "# building mesos-local, mesos-submit and the cluster benchmark (release)" >&2
swift build -c release --package-path "$root" --product mesos-local >&2
swift build -c release --package-path "$root" --product mesos-submit >&2
bin=$(swift build -c release --package-path "$root" --show-bin-path)
swift build -c release --package-path "$here" --product ClusterBenchmark >&2
swift build -c release --package-path "$here" --product StreamBenchmark >&2
bench=$(swift build -c release --package-path "$here" --show-bin-path)/ClusterBenchmark
stream_bench=$(swift build -c release --package-path "$here" --show-bin-path)/StreamBenchmark

for part in $PARTS; do
  case "$part" in
    launch|calls|instances) "$bench" "$part" "$bin/mesos-local" ;;
    submit) "$bench" submit "$bin/mesos-local" "$bin/mesos-submit" ;;
    stream)
      for c in offers updates mix; do
        for kind in json pb; do
          f="$CORPUS_DIR/$c.$kind.rio"
          if [ -f "$f" ]; then "$stream_bench" "$f" "$c.$kind"; else echo "# no corpus $f (run.sh decode writes it)" >&2; fi
        done
      done ;;
    *) "$bench" "$part" ;;
  esac
done
