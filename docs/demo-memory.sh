#!/bin/bash
# Runs `make demo`'s configuration (release build) on an empty data directory for 10
# minutes and prints RSS, peak RSS (KiB) and CPU-s at fixed times, then the GOP cache and
# encode counters from /metrics. BENCHMARKS.md, "County-scale headend", was measured with
# it. Usage: docs/demo-memory.sh [./target/release/headend]
set -euo pipefail
bin=$(realpath "${1:-./target/release/headend}")
config=$(realpath assets/demo/headend.toml)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|^data = .*|data = \"$dir/data\"|" "$config" > "$dir/headend.toml"
"$bin" serve --config "$dir/headend.toml" > "$dir/serve.log" 2>&1 &
pid=$!
start=$(date +%s)
echo "t_s rss_kib peak_kib cpu_s"
for t in 2 30 60 120 180 240 300 420 600; do
  now=$(( $(date +%s) - start ))
  if [ "$t" -gt "$now" ]; then sleep $(( t - now )); fi
  rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  cpu=$(awk '{print ($14+$15)/100}' "/proc/$pid/stat")
  echo "$t $rss $hwm $cpu"
done
curl -s 127.0.0.1:8080/metrics | grep -E '^govchannel_(process_encodes|status_line_encodes|shared_encodes|gop_cache)'
# Distinct screens aired (profile, kind, item, page, alert strip), from the as-run logs:
# a line without its time, frame hash and schedule segment, and without its channel when
# it names a stored item (a screen with no item, such as a cycle's summary, is the
# channel's own).
distinct() {
  cat "$dir"/data/asrun/*.jsonl | grep -- "$1" |
    sed -E 's/"(start|hash|segment)":"[^"]*",?//g; s/"seconds":[0-9]+,//; /"item":null/!s/"channel":"[^"]*",//' |
    sort -u | wc -l
}
hd_encodes=$(curl -s 127.0.0.1:8080/metrics | grep '^govchannel_encodes_total{.*profile="hd720"' |
  awk '{s += $2} END {print s}')
echo "distinct screens aired: all $(distinct '') hd720 $(distinct '"profile":"hd720"') (plus one slate a channel)"
echo "hd720 screens encoded (bodies and slates, govchannel_encodes_total): $hd_encodes"
kill "$pid"
wait "$pid" || true
