#!/usr/bin/env bash
# `make bench` — a benchmark, not a test: prints numbers, asserts nothing.
#   1. sandbox ingest rate (limits off), so we know the sandbox is not the bottleneck;
#   2. a full CLI export of a seeded CSV (default 1,000,000 rows, ~5 % broken emails) into the
#      sandbox with a 1 s job processing time: wall time, profiles/s, peak RSS of the CLI.
# Rate limiting in the client/sandbox is not built yet (Klaviyo fidelity issue): this measures
# the pipeline at "limits off".
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
cargo build --release -q -p segport-cli -p segport-sandbox --bins
cargo build --release -q -p segport-sandbox --example ingest_bench
./target/release/examples/ingest_bench

work=$(mktemp -d)
trap 'kill $sb_pid 2>/dev/null || true; rm -rf "$work"' EXIT
key="pk_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
./target/release/segport-sandbox --port 0 --key "$key" --job-processing-ms 1000 > "$work/sandbox.out" 2>&1 &
sb_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$work/sandbox.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sandbox.out" | head -1)
list=$(curl -s -X POST "$url/api/lists" -H "Authorization: Klaviyo-API-Key $key" -H "revision: 2026-07-15" \
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
properties = { city = "city", orders = "orders" }
TOML
$cli config import "$work/bench.toml" >/dev/null
$cli connection consent Bench --yes >/dev/null
set +e
/usr/bin/time -f "%e %M" -o "$work/time" $cli export run Bench --json > "$work/events.ndjson"
code=$?
set -e
read -r wall rss_kb < <(tail -1 "$work/time")
last=$(tail -1 "$work/events.ndjson")
imported=$(jq -r .imported <<<"$last")
members=$(curl -s "$url/__sandbox/lists/$list/members" | jq '.emails | length')
printf 'csv generation: %s rows in %.2f s\n' "$ROWS" "$(echo "$t1 - $t0" | bc)"
printf 'export: status %s (exit %s), read %s, imported %s, rejected %s, list members %s\n' \
  "$(jq -r .status <<<"$last")" "$code" "$(jq -r .read <<<"$last")" "$imported" "$(jq -r .rejected <<<"$last")" "$members"
printf 'export wall: %.2f s · %.0f profiles/s into the list · CLI peak RSS %.1f MB\n' \
  "$wall" "$(echo "$imported / $wall" | bc -l)" "$(echo "$rss_kb / 1024" | bc -l)"
