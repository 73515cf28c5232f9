#!/usr/bin/env bash
# `make bench`: decodes the peers' corpora (../shared/bench/peers) with swift-mesos, in the same run as pymesos
# and mesos-go, and prints
#   - every peer's line and ours, in the peers' format (peer=... corpus=... events_per_s=...),
#   - bench=decode-stream-memory lines: resident memory while streaming a corpus in 64 KiB reads, 1 GB in all,
#   - bench=decode-allocations lines: heap allocations and bytes per decoded event, against the reference,
#   - bench=decode-ratio lines: our events/s over mesos-go's and pymesos's, per corpus (best of REPS),
#   - bench=decode-paired lines: the same against mesos-go, as the median of PAIRS back-to-back runs (steadier),
#   - bench=encode lines: the generated encoders against swift-protobuf's (ACCEPT with 100 launches, ACKNOWLEDGE),
# then runs the offer-matching benchmark (bench=match..., see Sources/MatchBenchmark/main.swift) and the artifact
# server against nginx (bench=artifacts..., see artifacts.sh) and the cluster parts (see cluster.sh).
# `run.sh decode|match|artifacts|cluster` runs only that part.
# Env: PEERS (../shared/bench/peers), CORPUS_DIR (/tmp/peers-corpus), CORPUS_MB (100),
#      REPS (5: on a shared 2-core machine one pass of the same binary varied by 30% within minutes),
#      SKIP_PEERS=1 to reuse the peers' results of an earlier run in RESULTS, PAIRS (11) head-to-head runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-all}
case "$mode" in
  all|decode|match|artifacts|cluster) ;;
  *) echo "usage: $0 [decode|match|artifacts|cluster]" >&2; exit 2 ;;
esac

# OfferMatcher rounds, task memory, packing quality and a validation pass (about a minute).
match_bench() {
  echo "# building the matching benchmark (release)" >&2
  swift build -c release --package-path "$here" --product MatchBenchmark >&2
  "$(swift build -c release --package-path "$here" --show-bin-path)/MatchBenchmark"
}
if [ "$mode" = match ]; then
  match_bench
  exit
fi
if [ "$mode" = artifacts ]; then
  "$here/artifacts.sh"
  exit
fi
if [ "$mode" = cluster ]; then
  "$here/cluster.sh"
  exit
fi

PEERS=${PEERS:-$here/../../shared/bench/peers}
export CORPUS_DIR=${CORPUS_DIR:-/tmp/peers-corpus}
export CORPUS_MB=${CORPUS_MB:-100}
REPS=${REPS:-5}
RESULTS=${RESULTS:-/tmp/swift-mesos-bench.txt}
[ -x "$PEERS/run.sh" ] || { echo "no peers at $PEERS (expected ../shared/bench/peers beside the repo)"; exit 1; }

echo "# building the decode benchmark (release)" >&2
swift build -c release --package-path "$here" --product DecodeBenchmark >&2
ours=$(swift build -c release --package-path "$here" --show-bin-path)/DecodeBenchmark

# The peers: installs what is missing, writes the corpora, runs every peer REPS times.
if [ "${SKIP_PEERS:-0}" != 1 ]; then
  REPS=$REPS RESULTS="$RESULTS" bash "$PEERS/run.sh" > /dev/null
fi
grep -E '^peer=(mesos-go|pymesos)' "$RESULTS" || true

for _ in $(seq "$REPS"); do
  for c in offers updates mix; do
    "$ours" json "$c.json" "$CORPUS_DIR/$c.json.rio" 2>/dev/null | tee -a "$RESULTS"
    "$ours" proto "$c.pb" "$CORPUS_DIR/$c.pb.rio" 2>/dev/null | tee -a "$RESULTS"
  done
done
for c in offers updates mix; do
  "$ours" stream json "$c.json" "$CORPUS_DIR/$c.json.rio"
  "$ours" stream proto "$c.pb" "$CORPUS_DIR/$c.pb.rio"
done

# Heap allocations per decoded event, generated against the reference (a separate executable: it replaces malloc).
swift build -c release --package-path "$here" --product DecodeAllocations >&2
allocations=$(swift build -c release --package-path "$here" --show-bin-path)/DecodeAllocations
for c in offers updates mix; do
  "$allocations" json "$c.json" "$CORPUS_DIR/$c.json.rio"
  "$allocations" proto "$c.pb" "$CORPUS_DIR/$c.pb.rio"
done

# The encoders: generated against swift-protobuf's, on ACCEPT with 100 launches and ACKNOWLEDGE.
"$ours" encode

# Ratios from the best events/s of each peer in this run.
awk '
  /^peer=/ { delete f; for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["peer"] SUBSEP f["corpus"]; if (!(k in best) || f["events_per_s"] + 0 > best[k] + 0) best[k] = f["events_per_s"] }
  END {
    split("offers updates mix", C, " ")
    for (i = 1; i <= 3; i++) { c = C[i]
      j = "swift-mesos-json" SUBSEP c ".json"; p = "swift-mesos-proto" SUBSEP c ".pb"
      gj = "mesos-go-json" SUBSEP c ".json"; gp = "mesos-go-proto" SUBSEP c ".pb"; py = "pymesos" SUBSEP c ".json"
      printf "bench=decode-ratio corpus=%s", c
      if ((j in best) && (gj in best)) printf " json_vs_mesos_go_json=%.2f", best[j] / best[gj]
      if ((j in best) && (py in best)) printf " json_vs_pymesos=%.2f", best[j] / best[py]
      if ((p in best) && (gp in best)) printf " proto_vs_mesos_go_proto=%.2f", best[p] / best[gp]
      if ((p in best) && (gj in best)) printf " proto_vs_mesos_go_json=%.2f", best[p] / best[gj]
      printf "\n" } }' "$RESULTS"

# Head to head: mesos-go and ours one right after the other on the same corpus and content type, PAIRS times,
# alternating which goes first. The ratios above divide bests taken minutes apart (the peers' whole run comes first),
# and this host's speed drifts by tens of percent over minutes; the median of the pairs' ratios does not see that.
gopeer=${GOPEER:-/tmp/peers-build/mesosgo-peer}
PAIRS=${PAIRS:-11}
. "$here/pairs.sh"
if [ -x "$gopeer" ]; then
  for c in offers updates mix; do
    for format in json proto; do
      ext=$([ "$format" = json ] && echo json || echo pb)
      theirs() { "$gopeer" "$format" "$c.$ext" "$CORPUS_DIR/$c.$ext.rio" 2>/dev/null | rate; }
      mine() { "$ours" "$format" "$c.$ext" "$CORPUS_DIR/$c.$ext.rio" 2>/dev/null | rate; }
      echo "bench=decode-paired corpus=$c format=$format peer=mesos-go-$format" \
        "$(ratio_rounds "$PAIRS" theirs mine | ratio_summary pairs)"
    done
  done
else
  echo "# no mesos-go peer at $gopeer: no head-to-head ratios" >&2
fi

[ "$mode" = decode ] && exit
match_bench
"$here/artifacts.sh"
"$here/cluster.sh"
