#!/usr/bin/env bash
# A nightly relevance build: n shards (in parallel here; on a cluster, run each `relevance --shard`
# line on its own machine or GPU), then merge, the catalogue and the site. Safe to re-run: shards
# resume, the merge goes into a fresh folder, unchanged directions are not recomputed.
#
# usage: scripts/nightly.sh GENERATOR_DIR ENCODER_DIR PROMPTS_JSON OUT_DIR [SHARDS] [-- RELEVANCE_OPTIONS…]
# e.g.   scripts/nightly.sh models/ffhq models/vitb32 data/prompts/faces.json data/nightly 4 -- --device cuda
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 4 ]; then sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
gen=$1 enc=$2 prompts=$3 out=$4
shards=${5:-1}
shift $(( $# >= 5 ? 5 : 4 ))
[ "${1:-}" = "--" ] && shift
# As `npm run` does: the Node.js that `npm ci` pinned in node_modules/.bin comes first.
export PATH="$PWD/node_modules/.bin:$PATH"
styleatlas() { node bin/styleatlas.mjs "$@"; }

night="$out/$(date -u +%Y-%m-%d)"
mkdir -p "$night/shards"
pids=()
for ((i = 0; i < shards; i++)); do
  styleatlas relevance --generator "$gen" --encoder "$enc" --out "$night/shards/$i" \
    --shard "$i/$shards" --resume --quiet "$@" > "$night/shards/$i.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [ $status -ne 0 ]; then echo "nightly: a shard failed; see $night/shards/*.log (re-run this script to resume)" >&2; exit 1; fi

# The build's folder name is its id in the catalogue: each night replaces the last one's directions.
build="$night/$(basename "$gen")-$(basename "$enc")"
rm -rf "$build"
styleatlas merge --out "$build" "$night"/shards/[0-9]*/
styleatlas catalogue --build "$build" --prompts "$prompts" --out "$out/catalogue" --models-dir "$(dirname "$gen")" --quiet
styleatlas site build --catalogue "$out/catalogue" --out "$out/site"
echo "nightly: $build, catalogue $out/catalogue, site $out/site"
