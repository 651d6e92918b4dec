#!/usr/bin/env bash
# `make bench` — benchmarks, not tests: they print numbers and assert nothing.
#   1. the sandbox's ingest rate with limits off (it must never be the bottleneck);
#   2. a CLI export of a seeded 1M-row CSV (about 5 % broken emails, names, Polish phones in
#      E.164 and national format, properties) into the sandbox at Klaviyo's real rate limits
#      with a 1 s job processing time: wall, profiles/s, peak RSS, 429 count;
#   3. the same export again, unchanged (delta: nothing should be sent);
#   4. a --dry-run (no network): the pipeline's own throughput.
# ROWS=200000 make bench for a quicker look.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
cargo build --release -q -p segport-cli -p segport-sandbox --bins
cargo build --release -q -p segport-sandbox --example ingest_bench
./target/release/examples/ingest_bench

work=$(mktemp -d)
trap 'kill $sb_pid 2>/dev/null || true; rm -rf "$work"' EXIT
key="pk_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
./target/release/segport-sandbox --port 0 --limits real --key "$key" --job-processing-ms 1000 \
  > "$work/sandbox.out" 2>&1 &
sb_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$work/sandbox.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sandbox.out" | head -1)
# The pinned API revision: written only in the generated spec table.
revision=$(sed -n 's/^pub const SPEC_REVISION: &str = "\(.*\)";$/\1/p' crates/klaviyo/src/spec.rs)
list=$(curl -s -X POST "$url/api/lists" -H "Authorization: Klaviyo-API-Key $key" -H "revision: $revision" \
  -H "Content-Type: application/vnd.api+json" -d '{"data":{"type":"list","attributes":{"name":"Bench"}}}' | jq -r .data.id)

cli=./target/release/segport-cli
export SEGPORT_DATA_DIR="$work/data" SEGPORT_BENCH_KEY="$key"
t0=$(date +%s.%N)
$cli sample "$work/customers.csv" --rows "$ROWS" --invalid-every 20 --seed 42 >/dev/null
t1=$(date +%s.%N)
cat > "$work/bench.toml" <<TOML
version = 1
[[connection]]
name = "Bench"
base_url = "$url"
api_key_env = "SEGPORT_BENCH_KEY"
[[source]]
name = "Customers"
kind = "csv"
path = "customers.csv"
[[segment]]
name = "All"
source = "Customers"
[[export]]
name = "Bench"
segment = "All"
connection = "Bench"
list_id = "$list"
[export.mapping]
email = "email"
first_name = "first_name"
last_name = "last_name"
phone_number = "phone"
default_country = "PL"
properties = { city = "city", orders = "orders" }
TOML
$cli config import "$work/bench.toml" >/dev/null
$cli connection consent Bench --yes >/dev/null
printf 'machine: %s cores, %s\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf 'csv generation: %s rows in %.2f s\n' "$ROWS" "$(echo "$t1 - $t0" | bc)"

run() { # label, extra args…
  local label=$1; shift
  local before429 after429
  before429=$(curl -s "$url/__sandbox/stats" | jq '.statuses["429"] // 0')
  set +e
  /usr/bin/time -f "%e %M" -o "$work/time" $cli export run Bench --json "$@" > "$work/events.ndjson"
  local code=$?
  set -e
  after429=$(curl -s "$url/__sandbox/stats" | jq '.statuses["429"] // 0')
  local wall rss_kb last
  read -r wall rss_kb < <(tail -1 "$work/time")
  last=$(tail -1 "$work/events.ndjson")
  printf '%s: status %s (exit %s) · read %s · sent %s · unchanged %s · imported %s · rejected %s\n' "$label" \
    "$(jq -r .status <<<"$last")" "$code" "$(jq -r .read <<<"$last")" "$(jq -r .sent <<<"$last")" \
    "$(jq -r .unchanged <<<"$last")" "$(jq -r .imported <<<"$last")" "$(jq -r .rejected <<<"$last")"
  printf '%s: wall %.2f s · %.0f rows/s read · peak RSS %.1f MB · 429 answers %s\n' "$label" "$wall" \
    "$(echo "$(jq -r .read <<<"$last") / $wall" | bc -l)" "$(echo "$rss_kb / 1024" | bc -l)" "$((after429 - before429))"
}
run "export (real limits)"
printf 'list members after the export: %s\n' "$(curl -s "$url/__sandbox/lists/$list/members" | jq '.emails | length')"
run "unchanged re-run (delta)"
run "dry run (no network)" --dry-run
printf '429 answers by operation: %s\n' "$(curl -s "$url/__sandbox/stats" | jq -c '[.route_statuses | to_entries[] | select(.value["429"]) | {(.key): .value["429"]}] | add // {}')"
