#!/bin/bash
# Whole-process CPU of `headend stream` recording the demo county for 120 s, beside the
# ffmpeg CLI looping one of its pages for 120 s with the same codecs, GOP and TS settings
# (both faster than real time, into a file). Needs a data directory where `headend serve`
# has loaded the demo county once. BENCHMARKS.md, "County-scale headend", was measured
# with it. Usage: docs/stream-vs-ffmpeg.sh DATA_DIR [./target/release/headend] [runs]
set -euo pipefail
data=$(realpath "$1")
bin=$(realpath "${2:-./target/release/headend}")
runs=${3:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cpu() { # prints user+system CPU-s and peak RSS (KiB) of the command
  /usr/bin/time -f '%U %S %M' -o "$dir/time" "$@" > /dev/null 2>&1
  awk '{printf "%.2f CPU-s, peak RSS %d KiB\n", $1 + $2, $3}' "$dir/time"
}
"$bin" render --data "$data" --profile sd --notice "$(
  sqlite3 "$data/headend.db" 'SELECT id FROM notices ORDER BY id LIMIT 1' 2>/dev/null || echo 1
)" --out "$dir/page.png" > /dev/null
for i in $(seq "$runs"); do
  echo "run $i"
  echo -n "  headend stream, 120 s of the county: "
  cpu "$bin" stream --data "$data" --channel county --seconds 120 --out "$dir/ours.ts"
  echo -n "  ffmpeg looping one page for 120 s:    "
  cpu ffmpeg -v error -y -loop 1 -framerate 25 -i "$dir/page.png" \
    -f lavfi -i anullsrc=r=48000:cl=stereo -t 120 -pix_fmt yuv420p \
    -c:v mpeg2video -b:v 2M -maxrate 2.5M -bufsize 1835k -g 25 -bf 0 -aspect 4:3 \
    -c:a mp2 -b:a 192k -f mpegts -muxrate 3000000 -max_delay 700000 "$dir/ffmpeg.ts"
done
pictures() {
  ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets \
    -of default=nw=1:nk=1 "$1" | grep -m1 .
}
echo "video pictures: ours $(pictures "$dir/ours.ts"), ffmpeg $(pictures "$dir/ffmpeg.ts")"
ffmpeg -v warning -i "$dir/ours.ts" -f null - 2>&1 | head -3
