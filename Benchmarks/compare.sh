#!/usr/bin/env bash
# Compares two builds of DecodeBenchmark on the peers' corpora, by the clock and by instructions:
#   Benchmarks/compare.sh BASELINE CANDIDATE [corpus ...]     (corpora: offers.pb updates.json ...; default all six)
# prints per corpus
#   bench=decode-compare corpus=<c> rounds=<n> median_ratio=<candidate/baseline events/s> min_ratio=.. max_ratio=..
# and, with INSTRUCTIONS=1 (needs valgrind), the instructions per event of each on the corpus's first records:
#   bench=decode-instructions corpus=<c> events=<n> baseline=<instr/event> candidate=<instr/event> change_pct=..
#
# Why both: a change can run fewer instructions and still be slower (session 11: a string cache four times larger
# ran up to 3% fewer instructions and decoded 3-7% slower). On this host one run of a corpus varies by +-20%, so the clock
# figure is the median of ROUNDS (31) rounds, each running both builds back to back, alternating which goes first;
# two copies of one build gave medians within 0.99-1.01.
# To get a baseline: `git worktree add /tmp/base <commit>` and build its Benchmarks package in release.
# Env: CORPUS_DIR (/tmp/peers-corpus, made by ../shared/bench/peers/run.sh), ROUNDS (31), INSTRUCTIONS (0).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BASELINE CANDIDATE [corpus ...]" >&2; exit 2; }
baseline=$1
candidate=$2
shift 2
corpora=${*:-offers.pb updates.pb mix.pb offers.json updates.json mix.json}
CORPUS_DIR=${CORPUS_DIR:-/tmp/peers-corpus}
ROUNDS=${ROUNDS:-31}
for binary in "$baseline" "$candidate"; do [ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 2; }; done

. "$(cd "$(dirname "$0")" && pwd)/pairs.sh"
format_of() { case $1 in *.pb) echo proto ;; *.json) echo json ;; *) echo "unknown corpus $1" >&2; exit 2 ;; esac; }

# Each reads the loop's format, corpus and file when called.
base_rate() { "$baseline" "$format" "$corpus" "$file" 2>/dev/null | rate; }
candidate_rate() { "$candidate" "$format" "$corpus" "$file" 2>/dev/null | rate; }
for corpus in $corpora; do
  format=$(format_of "$corpus")
  file=$CORPUS_DIR/$corpus.rio
  [ -s "$file" ] || { echo "no corpus at $file (run ../shared/bench/peers/run.sh)" >&2; exit 2; }
  echo "bench=decode-compare corpus=$corpus $(ratio_rounds "$ROUNDS" base_rate candidate_rate | ratio_summary rounds)"
done

[ "${INSTRUCTIONS:-0}" = 1 ] || exit 0
command -v valgrind > /dev/null || { echo "INSTRUCTIONS=1 needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF 5 that Swift writes: count on copies without debug information.
objcopy --strip-debug "$baseline" "$work/baseline"
objcopy --strip-debug "$candidate" "$work/candidate"
# The first N records of a corpus (enough for a steady count, few enough for valgrind), and the first alone: its
# count is the startup, which is subtracted.
records() {
  python3 - "$1" "$2" "$3" << 'EOF'
import sys
source, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(source, 'rb').read()
at, out = 0, bytearray()
for _ in range(count):
    if at >= len(data):
        break
    newline = data.index(b'\n', at)
    end = newline + 1 + int(data[at:newline])
    out += data[at:end]
    at = end
open(target, 'wb').write(out)
EOF
}
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' | tr -d ,
}
# per_event baseline|candidate: instructions per event on the loop's records, the startup subtracted.
per_event() {
  local many one
  many=$(instructions "$work/$1" "$format" "$corpus" "$work/many.rio")
  one=$(instructions "$work/$1" "$format" "$corpus" "$work/one.rio")
  echo $(( (many - one) / (n - 1) ))
}
for corpus in $corpora; do
  format=$(format_of "$corpus")
  case $corpus in offers.json) n=1000 ;; offers.pb) n=2000 ;; mix.*) n=10000 ;; *) n=20000 ;; esac
  records "$CORPUS_DIR/$corpus.rio" "$work/many.rio" "$n"
  records "$CORPUS_DIR/$corpus.rio" "$work/one.rio" 1
  base=$(per_event baseline)
  cand=$(per_event candidate)
  echo "bench=decode-instructions corpus=$corpus events=$n baseline=$base candidate=$cand" \
    "change_pct=$(awk -v a="$cand" -v b="$base" 'BEGIN { printf "%.1f", 100 * (a - b) / b }')"
done
