#!/usr/bin/env bash
# load.sh: load benchmark of imagebot serve's webhook path (not a timed test).
# Builds imagebot and ../shared/tools/webhook-load, starts `imagebot serve` on
# loopback with a temporary configuration (SQLite, intake only: queue.work
# false, so the numbers are the webhook path: verify, store the delivery and
# its event job in one commit, answer), then:
#   1. 200 signed GitLab note events/s for 30 s, unique delivery ids;
#   2. steps the rate up until p99 passes 100 ms (or the rate is not reached);
#   3. one delivery id 100 times: exactly one stored event job must result.
# Prints a table with p50/p99/achieved rate and the server's peak RSS (VmHWM),
# and at the end the peak of its anonymous and of its file-backed resident
# memory apart (sampled every 0.1 s): the file-backed part is the binary's
# own pages, which the kernel maps in folios of varying size.
# Usage: bot/bench/load.sh [--quick]   (--quick: 10 s steps instead of 30 s)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
steps_dur=30s; base_dur=30s
if [[ "${1:-}" == "--quick" ]]; then steps_dur=10s; base_dur=10s; fi
work="$(mktemp -d /tmp/imagebot-bench.XXXXXX)"
pid=""
sampler=""
cleanup() {
  [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/imagebot" ./cmd/imagebot
go -C ../shared/tools/webhook-load build -o "$work/webhook-load" .
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.yaml" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/data
queue:
  work: false
database:
  synchronous: ${SYNC:-normal}
log:
  level: warn
YAML
secret="bench-$(date +%s%N)"
export IMAGEBOT_GITLAB_WEBHOOK_SECRET="$secret" IMAGEBOT_GITLAB_TOKEN="bench-token" IMAGEBOT_GITLAB_BASE_URL="http://127.0.0.1:9"
"$work/imagebot" serve --config "$work/config.yaml" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/serve.log"; exit 1; }
payload=bot/forge/gitlab/gitlabtest/testdata/note_mr.json
url="http://127.0.0.1:$port/webhooks/gitlab"

run() { # rate duration [extra flags...]
  local rate=$1 dur=$2; shift 2
  "$work/webhook-load" -url "$url" -forge gitlab -secret "$secret" -payload "$payload" -event "Note Hook" \
    -rate "$rate" -duration "$dur" -concurrency 200 "$@" 2>&1
}
field() { # output name -> value
  case $2 in
    p50) sed -n 's/^latency *p50 \([0-9.]*\)ms.*/\1/p' <<<"$1" ;;
    p99) sed -n 's/^latency.* p99 \([0-9.]*\)ms.*/\1/p' <<<"$1" ;;
    rate) sed -n 's/^rate *\([0-9.]*\) req\/s.*/\1/p' <<<"$1" ;;
    errors) sed -n 's/^errors *\([0-9]*\).*/\1/p' <<<"$1" ;;
    status) sed -n 's/^status *//p' <<<"$1" ;;
  esac
}
rss() { awk '/VmHWM/ {print $2/1024}' "/proc/$pid/status"; }
sample_rss() { # the largest RssAnon and RssFile seen, in kB, into $work/rss
  local anon=0 file=0 a f
  while kill -0 "$pid" 2>/dev/null; do
    read -r a f < <(awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print a+0, f+0}' "/proc/$pid/status" 2>/dev/null || echo "0 0")
    (( a > anon )) && anon=$a
    (( f > file )) && file=$f
    echo "$anon $file" >"$work/rss.tmp" && mv "$work/rss.tmp" "$work/rss"
    sleep 0.1
  done
}
sample_rss &
sampler=$!
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
events() { metric 'imagebot_queue_jobs{queue="events",state="available"}'; }

printf '%-12s %-10s %-10s %-12s %-8s %-18s %s\n' "target/s" "p50 ms" "p99 ms" "achieved/s" "errors" "status" "peak RSS MiB"
row() { printf '%-12s %-10s %-10s %-12s %-8s %-18s %.1f\n' "$1" "$(field "$2" p50)" "$(field "$2" p99)" "$(field "$2" rate)" "$(field "$2" errors)" "$(field "$2" status)" "$(rss)"; }

out=$(run 200 "$base_dur" -unique-delivery); row 200 "$out"
sent=$(( 200 * ${base_dur%s} ))
stored=$(events)
[[ "${stored%.*}" == "$sent" ]] || echo "WARNING: $sent deliveries sent, $stored event jobs stored"
best=200
for rate in 500 1000 2000 3000 4000 5000 6000 8000 10000; do
  before=$(events)
  out=$(run "$rate" "$steps_dur" -unique-delivery); row "$rate" "$out"
  achieved=$(field "$out" rate); p99=$(field "$out" p99)
  after=$(events)
  accepted=$(grep -o '202×[0-9]*' <<<"$out" | sed 's/202×//'); accepted=${accepted:-0}
  [[ $(( ${after%.*} - ${before%.*} )) == "$accepted" ]] || echo "WARNING: $accepted answered 202, $(( ${after%.*} - ${before%.*} )) stored"
  if awk -v a="$achieved" -v r="$rate" -v p="$p99" 'BEGIN{exit !(a >= 0.98*r && p <= 100)}'; then best=$rate; else break; fi
done
before=$(events)
out=$(run 100 2s -n 100); row "100 dup" "$out"
after=$(events)
dups=$(( ${after%.*} - ${before%.*} ))
echo
echo "highest rate sustained with p99 <= 100 ms: $best/s"
echo "one delivery id sent 100 times -> $dups stored event job(s) (want 1): $( [[ $dups == 1 ]] && echo OK || echo FAIL )"
echo "peak RSS of imagebot serve: $(rss) MiB; load average: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
read -r anon file <"$work/rss"
echo "of which at most: anonymous $(( anon / 1024 )) MiB, file-backed $(( file / 1024 )) MiB (binary: $(( $(stat -c %s "$work/imagebot") >> 20 )) MiB)"
