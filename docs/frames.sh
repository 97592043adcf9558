#!/usr/bin/env bash
# Regenerates docs/frames/*.png: frames of the demo county's channel as it airs.
# Usage: docs/frames.sh [HEADEND]   (default ./target/release/headend; `make frames` builds it)
# Loads the demo county into a scratch data directory (one start of `headend serve` on
# loopback), records the county channel in SD and 720p with `headend stream`, and cuts
# frames with ffmpeg at fixed seconds of the recording.
set -euo pipefail
cd "$(dirname "$0")/.."
headend=${1:-./target/release/headend}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$headend" serve --data "$work/data" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 1 120); do
  grep -q "serving http://" "$work/serve.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.5
done
kill -TERM "$pid"; wait "$pid" || true
cat >"$work/hd.toml" <<'TOML'
[[channels]]
name = "county"
[[channels.outputs]]
kind = "file"
profile = "hd720"
path = "hd720.ts"
TOML
# 02:00 is in a gap of the demo schedule: the county channel airs its default sequence.
"$headend" stream --data "$work/data" --channel county --at 02:00 --seconds 420 --out "$work/sd.ts"
"$headend" stream --config "$work/hd.toml" --data "$work/data" --channel county --at 02:00 --seconds 640 --out "$work/hd720.ts"
cut() { ffmpeg -v error -y -ss "$2" -i "$work/$1.ts" -frames:v 1 "docs/frames/$3.png"; }
mkdir -p docs/frames
cut sd 3 sd-urgent
cut sd 78 sd-summary
cut sd 138 sd-notice
cut hd720 615 hd720-list
ls -l docs/frames
