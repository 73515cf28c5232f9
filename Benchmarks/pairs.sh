# Sourced by run.sh and compare.sh: two programs timed back to back on this host, whose speed drifts by tens of
# percent over minutes, so only ratios taken seconds apart are compared.

# The events/s in a benchmark line (peers' format).
rate() { sed -n 's/.*events_per_s=\([0-9.]*\).*/\1/p'; }

# ratio_rounds N FIRST SECOND: runs the commands FIRST and SECOND (each prints an events/s figure) back to back N times,
# alternating which goes first, and prints SECOND's figure over FIRST's for each round, one per line.
ratio_rounds() {
  local rounds=$1 first=$2 second=$3 round a b
  for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then a=$($first); b=$($second); else b=$($second); a=$($first); fi
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b / a }'
  done
}

# ratio_summary KEY: reads ratios, one per line, and prints "KEY=<count> median_ratio=.. min_ratio=.. max_ratio=..".
ratio_summary() {
  sort -n | awk -v key="$1" '
    { r[NR] = $1 }
    END { printf "%s=%d median_ratio=%.2f min_ratio=%.2f max_ratio=%.2f\n",
            key, NR, (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2), r[1], r[NR] }'
}
