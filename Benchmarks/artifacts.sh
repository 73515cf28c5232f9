#!/usr/bin/env bash
# Artifact server throughput and memory, side by side with Debian's nginx (sendfile on), same files, same machine,
# same run. Prints:
#   bench=artifacts server=<swift-mesos|nginx> file=<100MB|64KB> clients=<n> req_per_s=<r> MBps=<m> errors=<e>
#   bench=artifacts-ratio file=<f> clients=<n> swift_mesos_vs_nginx=<x>
#   bench=artifacts-concurrency server=swift-mesos clients=1000 requests=<n> errors=<e>
#   bench=artifacts-memory server=swift-mesos rss_kb=<now> peak_rss_kb=<peak> served_mb=<total>
# Each figure is the best of REPS rounds (3), ours and nginx alternating; errors are summed over the rounds.
# Env: SECONDS_PER_RUN (4), REPS; FILES ("big small") and CLIENTS ("1 16 256") to run part of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
duration=${SECONDS_PER_RUN:-4}
reps=${REPS:-3}
missing=""
command -v wrk >/dev/null || missing="$missing wrk"
command -v nginx >/dev/null || missing="$missing nginx-light"
if [ -n "$missing" ]; then
  echo "# installing:$missing" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
fi
ulimit -n 8192 2>/dev/null || true

work=$(mktemp -d /tmp/swift-mesos-artifact-bench.XXXXXX)
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
head -c 100M /dev/urandom > "$work/big.bin"
head -c 64K /dev/urandom > "$work/small.bin"
chmod 755 "$work"; chmod 644 "$work"/*.bin  # nginx's workers run as www-data

echo "# building the artifact benchmark (release)" >&2
swift build -c release --package-path "$here" --product ArtifactBenchmark >&2
bin=$(swift build -c release --package-path "$here" --show-bin-path)/ArtifactBenchmark

mkfifo "$work/control"
"$bin" "$work/big.bin" "$work/small.bin" < "$work/control" > "$work/ours.out" &
exec 3> "$work/control"
for _ in $(seq 100); do grep -q '^ready' "$work/ours.out" 2>/dev/null && break; sleep 0.1; done
ours_big=$(sed -n 's/^url=//p' "$work/ours.out" | sed -n 1p)
ours_small=$(sed -n 's/^url=//p' "$work/ours.out" | sed -n 2p)
ours_pid=$(sed -n 's/^ready pid=//p' "$work/ours.out")

port=$((20000 + RANDOM % 20000))
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp; uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:$port; root $work; }
}
CONF
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf"
sleep 0.5

# wrk URL CLIENTS -> "req_per_s MBps errors"
measure() {
  local url=$1 clients=$2 threads=$(( $2 < 2 ? 1 : 2 ))
  # A generous timeout: a 100 MB response to each of 256 clients takes seconds; errors must mean errors.
  local out; out=$(wrk -t"$threads" -c"$clients" -d"${duration}s" --timeout 60s "$url" 2>&1)
  local rps; rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  local transfer; transfer=$(echo "$out" | awk '/^Transfer\/sec:/ {print $2}')
  local mbps; mbps=$(echo "$transfer" | awk '{ v = $1 + 0; if ($1 ~ /GB$/) v *= 1024; else if ($1 ~ /KB$/) v /= 1024; else if ($1 ~ /B$/ && $1 !~ /MB$/) v /= 1048576; printf "%.1f", v }')
  local errors; errors=$(echo "$out" | awk '/Socket errors/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  echo "$rps $mbps $errors"
}

for file in ${FILES:-big small}; do
  label=$([ $file = big ] && echo 100MB || echo 64KB)
  ours_url=$([ $file = big ] && echo "$ours_big" || echo "$ours_small")
  for clients in ${CLIENTS:-1 16 256}; do
    # Alternating rounds, best of each server: a loaded or noisy moment (two cores, shared with wrk) hits one
    # round, not one server.
    o_rps=0; o_mbps=0; o_err=0; n_rps=0; n_mbps=0; n_err=0
    for _ in $(seq "$reps"); do
      read -r rps mbps err <<< "$(measure "$ours_url" $clients)"
      o_err=$((o_err + err))
      if awk -v a="$mbps" -v b="$o_mbps" 'BEGIN { exit !(a > b) }'; then o_rps=$rps; o_mbps=$mbps; fi
      read -r rps mbps err <<< "$(measure "http://127.0.0.1:$port/$file.bin" $clients)"
      n_err=$((n_err + err))
      if awk -v a="$mbps" -v b="$n_mbps" 'BEGIN { exit !(a > b) }'; then n_rps=$rps; n_mbps=$mbps; fi
    done
    echo "bench=artifacts server=swift-mesos file=$label clients=$clients req_per_s=$o_rps MBps=$o_mbps errors=$o_err"
    echo "bench=artifacts server=nginx file=$label clients=$clients req_per_s=$n_rps MBps=$n_mbps errors=$n_err"
    awk -v o="$o_mbps" -v n="$n_mbps" -v f=$label -v c=$clients 'BEGIN { printf "bench=artifacts-ratio file=%s clients=%s swift_mesos_vs_nginx=%.2f\n", f, c, (n > 0 ? o / n : 0) }'
  done
done

out=$(wrk -t2 -c1000 -d"${duration}s" --timeout 60s "$ours_small" 2>&1)
echo "$out" | grep -E 'Socket errors|Non-2xx' >&2 || true
requests=$(echo "$out" | awk '/requests in/ {print $1}')
errors=$(echo "$out" | awk '/Socket errors/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
echo "bench=artifacts-concurrency server=swift-mesos clients=1000 requests=$requests errors=$errors"

rss=$(awk '/^VmRSS/ {print $2}' "/proc/$ours_pid/status")
peak=$(awk '/^VmHWM/ {print $2}' "/proc/$ours_pid/status")
echo >&3
for _ in $(seq 50); do grep -q '^served_bytes=' "$work/ours.out" && break; sleep 0.1; done
served=$(sed -n 's/^served_bytes=//p' "$work/ours.out" | tail -1)
echo "bench=artifacts-memory server=swift-mesos rss_kb=$rss peak_rss_kb=$peak served_mb=$(( ${served:-0} / 1000000 ))"
