#!/bin/bash
# Whole-process rendering of the render benchmark's hard page (an hd1080 notice), side by
# side with cold headless Chromium drawing the same notice from HTML with the same pinned
# face: each run is a fresh process (Chromium with a fresh profile), timed by GNU time.
# Prints one line per run (wall s, CPU s, peak RSS KiB) and the medians. BENCHMARKS.md,
# "Whole-process render", was measured with it.
# Usage: docs/render-process.sh [./target/release/headend] [runs]
set -euo pipefail
bin=$(realpath "${1:-./target/release/headend}")
runs=${2:-7}
root=$(pwd)
page="$root/server/benches/data/hard-page.json"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
command -v chromium >/dev/null || { echo "chromium missing: make bench-deps" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: make bench-deps" >&2; exit 1; }

# The same notice as HTML: the pinned Regular and Bold faces by @font-face (file URLs,
# allowed with --allow-file-access-from-files), 1920×1080, title band, meta line, body.
python3 - "$page" "$root/fonts" > "$dir/page.html" <<'PY'
import html, json, sys
n = json.load(open(sys.argv[1]))
fonts = sys.argv[2]
paras = "".join(f"<p>{html.escape(p)}</p>" for p in n["body"].split("\n") if p.strip())
print(f"""<!doctype html><html lang="zh-CN"><meta charset="utf-8"><style>
@font-face {{ font-family: Pinned; font-weight: 400; src: url("file://{fonts}/NotoSansSC-Regular-subset.otf"); }}
@font-face {{ font-family: Pinned; font-weight: 700; src: url("file://{fonts}/NotoSansSC-Bold-subset.otf"); }}
html, body {{ margin: 0; width: 1920px; height: 1080px; overflow: hidden; background: #1c2a3a; color: #e8e8e2; font-family: Pinned; }}
h1 {{ margin: 0; padding: 60px 192px 30px; background: #22364c; color: #ebe0b0; font-size: 86px; font-weight: 700; text-align: center; }}
.meta {{ padding: 20px 192px; color: #c8cfd6; font-size: 58px; text-align: center; border-bottom: 2px solid #6a849e; }}
p {{ margin: 0 192px; font-size: 72px; line-height: 1.5; text-indent: 2em; text-align: justify; }}
</style><title>fonts-pending</title><script>
Promise.all([document.fonts.load("400 72px Pinned", "政"), document.fonts.load("700 86px Pinned", "政")])
  .then(f => {{ document.title = f.every(x => x.length > 0) ? "fonts-loaded" : "fonts-missing"; }},
        () => {{ document.title = "fonts-error"; }});
</script><h1>{html.escape(n["title"])}</h1><div class="meta">{html.escape(n["publisher"])}　{n["date"]}</div>{paras}</html>""")
PY

# The peer must draw with the pinned faces, not a fallback: the page records in its title
# whether both faces loaded; the run stops unless they did.
chromium_flags="--headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files"
title=$(chromium $chromium_flags --user-data-dir="$(mktemp -d -p "$dir")" --virtual-time-budget=10000 \
  --dump-dom "file://$dir/page.html" 2>/dev/null | grep -o '<title>[a-z-]*</title>' || true)
[ "$title" = "<title>fonts-loaded</title>" ] || {
  echo "Chromium did not load the pinned faces (${title:-no title}): its run would measure a fallback font" >&2
  exit 1
}
echo "chromium: both pinned faces loaded"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # name, command...
  local name=$1; shift
  for i in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$dir/t" "$@" > /dev/null 2>&1
    read -r wall user sys rss < "$dir/t"
    echo "$name $i wall ${wall} cpu $(echo "$user + $sys" | bc) rss_kib $rss"
  done | tee "$dir/$name"
  echo "$name median: wall $(awk '{print $4}' "$dir/$name" | median) s," \
    "cpu $(awk '{print $6}' "$dir/$name" | median) s, peak RSS $(awk '{print $8}' "$dir/$name" | median) KiB"
}
run headend "$bin" render --profile hd1080 --input "$page" --out "$dir/ours.png"
run chromium sh -c "chromium $chromium_flags --user-data-dir=\$(mktemp -d -p '$dir') \
  --window-size=1920,1080 --screenshot='$dir/chromium.png' 'file://$dir/page.html'"
[ -s "$dir/ours.png" ] && [ -s "$dir/chromium.png" ] || { echo "a run wrote no PNG" >&2; exit 1; }
if [ -n "${KEEP:-}" ]; then cp "$dir/ours.png" "$dir/chromium.png" "$KEEP"/; fi
