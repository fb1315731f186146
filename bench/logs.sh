#!/usr/bin/env bash
# Logs benchmark (issue 5): pushes ~1.1 GB of realistic logs (nginx access,
# JSON app logs, syslog) into Hearth over Loki push on loopback, then reports
# ingest MB/s (wall and per CPU-second), bytes on disk per raw byte, and the
# latency of a rare-token search next to `grep -F` over the same raw text.
# Writes bench/LOGS-RESULTS.md (or $OUT). See bench/README.md.
#
# Knobs (environment): BYTES HOURS SEED CONNECTIONS NEEDLE COMMON OUT
# KEEP_WORK=1 SKIP_BUILD=1 CARGO_TARGET_DIR (default /work/target-bench)
# HEARTH_ARGS LOGGEN_TIMEOUT.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
BYTES="${BYTES:-1100000000}"
HOURS="${HOURS:-6}"
SEED="${SEED:-1}"
CONNECTIONS="${CONNECTIONS:-4}"
NEEDLE="${NEEDLE:-hearthneedle7f3a9c}"
COMMON="${COMMON:-error}"
OUT="${OUT:-$HERE/LOGS-RESULTS.md}"
RUNS=5
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
# Not run.sh's ports, so both benchmarks can be left running side by side.
PORT=19710
BASE="http://127.0.0.1:$PORT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hearth-logs-bench.XXXXXX")"
DATA="$WORK/data"
RAW="$WORK/raw.log"
RES="$WORK/results.env"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
STARTED_AT="$(date -u '+%Y-%m-%d %H:%M UTC')"
SOURCE="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) ($(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null | cut -c1-100))"
HZ="$(getconf CLK_TCK)"
export LC_ALL=C
HEARTH_PID=""

trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------

# evict FILE...: drop these files (only) from the page cache, so the next
# read comes from disk. Clean pages only, hence the sync first.
evict() {
    local f
    sync
    for f in "$@"; do
        dd if="$f" iflag=nocache count=0 status=none 2>/dev/null || true
    done
}

# cached_mib FILE...: how much of the files is in the page cache now.
cached_mib() {
    if command -v fincore >/dev/null; then
        fincore -b -n -o RES "$@" 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s / 1048576 }'
    else
        echo "n/a"
    fi
}

# loki NAME PATH [curl args...]: one timed GET; prints "http_code seconds"
# and leaves the body in $WORK/q/NAME.json.
loki() {
    local name="$1" path="$2"
    shift 2
    mkdir -p "$WORK/q"
    curl -sS -o "$WORK/q/$name.json" --max-time 600 -w '%{http_code} %{time_total}' -G "$BASE$path" "$@" 2>>"$WORK/q/$name.err" || echo "000 0"
}

# series NAME PATH [curl args...]: a first run, then $RUNS more; records
# NAME_first, NAME_best, NAME_median (seconds) and NAME_status.
series() {
    local name="$1" path="$2"
    shift 2
    local r code t times=() status=200
    r="$(loki "$name" "$path" "$@")"
    code="${r%% *}"
    t="${r##* }"
    [ "$code" = 200 ] || status="$code"
    put "${name}_first" "$t"
    for ((i = 0; i < RUNS; i++)); do
        r="$(loki "$name" "$path" "$@")"
        code="${r%% *}"
        [ "$code" = 200 ] || status="$code"
        times+=("${r##* }")
    done
    put "${name}_best" "$(best "${times[@]}")"
    put "${name}_median" "$(median "${times[@]}")"
    put "${name}_status" "$status"
    [ "$status" = 200 ] || put failure "$name answered HTTP $status: $(head -c 300 "$WORK/q/$name.json" | tr '\n|' '  ')"
}

entries() { jq '[.data.result[]?.values[]?] | length' "$WORK/q/$1.json" 2>/dev/null || echo n/a; }
scalar() { jq -r '[.data.result[]?.value[1] | tonumber] | add // 0' "$WORK/q/$1.json" 2>/dev/null || echo n/a; }
matrix_sum() { jq -r '[.data.result[]?.values[]?[1] | tonumber] | add // 0' "$WORK/q/$1.json" 2>/dev/null || echo n/a; }

# grep_once: one timed `grep -F -c`; prints "count seconds".
grep_once() {
    local t0 t1 n
    t0=$(date +%s.%N)
    n="$(grep -F -c -- "$NEEDLE" "$RAW" || true)"
    t1=$(date +%s.%N)
    echo "$n $(elapsed "$t0" "$t1" 3)"
}

# --- main --------------------------------------------------------------------

# Raw file + WAL + parts + slack: refuse to start without room for it.
need_kib=$((BYTES * 3 / 1024))
avail_kib="$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')"
if [ "$avail_kib" -lt "$need_kib" ]; then
    log "need ~$((need_kib / 1048576)) GiB free under $WORK, have $((avail_kib / 1048576)) GiB"
    exit 1
fi

build_release -p hearth -p hearth-loggen
HEARTH="$CARGO_TARGET_DIR/release/hearth"
LOGGEN="$CARGO_TARGET_DIR/release/hearth-loggen"
for b in "$HEARTH" "$LOGGEN"; do
    [ -x "$b" ] || { log "missing $b"; exit 1; }
done

END_MS="$(($(date +%s) * 1000))"
GEN=(--bytes "$BYTES" --hours "$HOURS" --seed "$SEED" --end-ms "$END_MS" --needle "$NEEDLE")
log "work dir $WORK; end timestamp $END_MS"

log "writing the raw file ($BYTES bytes of lines)"
"$LOGGEN" "${GEN[@]}" --write-raw "$RAW" >"$WORK/raw.json"
cat "$WORK/raw.json" >&2
LINES="$(jq -r .lines "$WORK/raw.json")"
RAW_BYTES="$(jq -r .raw_bytes "$WORK/raw.json")"
NEEDLES="$(jq -r .needles "$WORK/raw.json")"
START_NS="$(jq -r .start_ns "$WORK/raw.json")"
END_NS="$(jq -r .end_ns "$WORK/raw.json")"
put raw_gen_mb_per_sec "$(jq -r .mb_per_sec "$WORK/raw.json")"
put file_bytes "$(stat -c %s "$RAW")"

mkdir -p "$DATA"
log "starting hearth"
start_hearth || not_ready "Logs benchmark results"
put version "$("$HEARTH" version 2>/dev/null | head -n1)"

log "pushing"
cpu0="$(cpu_secs "$HEARTH_PID")"
t0=$(date +%s.%N)
rc=0
timeout --signal=TERM "${LOGGEN_TIMEOUT:-3600}" /usr/bin/time -f '%U %S %M' -o "$WORK/loggen.time" \
    "$LOGGEN" "${GEN[@]}" --url "$BASE/loki/api/v1/push" --connections "$CONNECTIONS" \
    >"$WORK/push.json" 2>"$WORK/push.stderr" || rc=$?
t1=$(date +%s.%N)
cpu1="$(cpu_secs "$HEARTH_PID")"
cat "$WORK/push.json" >&2
[ "$rc" = 0 ] || put failure "loggen exited $rc: $(jq -r '.first_error // .generator_error // empty' "$WORK/push.json" 2>/dev/null | head -c 400) $(head -c 300 "$WORK/push.stderr" | tr '\n|' '  ')"
kill -0 "$HEARTH_PID" 2>/dev/null || put failure "hearth exited during ingest"
INGEST_S="$(elapsed "$t0" "$t1" 2)"
put ingest_seconds "$INGEST_S"
put ingest_cpu "$(elapsed "$cpu0" "$cpu1" 2)"
put loggen_cpu "$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/loggen.time" 2>/dev/null || echo n/a)"
for k in lines_acked requests retries errors errors_4xx lines_rejected_4xx failed_requests compressed_bytes_sent; do
    put "push_$k" "$(jq -r ".$k" "$WORK/push.json" 2>/dev/null || echo n/a)"
done
put push_first_error "$(jq -r '.first_error // "" | gsub("[\n|]"; " ")' "$WORK/push.json" 2>/dev/null)"
[ "$(jq -r .lines "$WORK/push.json" 2>/dev/null)" = "$LINES" ] || put failure "push generated $(jq -r .lines "$WORK/push.json" 2>/dev/null) lines, the raw file $LINES"
put rss_ingest_kib "$(kib VmHWM "$HEARTH_PID")"
put wal_bytes_after_ingest "$(du -sb "$DATA/wal-logs" 2>/dev/null | cut -f1)"

log "flush"
c0="$(cpu_secs "$HEARTH_PID")"
t0=$(date +%s.%N)
curl -fsS --max-time 3600 -X POST "$BASE/api/v1/admin/flush" >"$WORK/flush.json" 2>"$WORK/flush.err" ||
    put failure "flush failed: $(head -c 300 "$WORK/flush.err" "$WORK/flush.json" | tr '\n|' '  ')"
t1=$(date +%s.%N)
put flush_seconds "$(elapsed "$t0" "$t1")"
log "compact"
t0=$(date +%s.%N)
curl -fsS --max-time 3600 -X POST "$BASE/api/v1/admin/compact" >"$WORK/compact.json" 2>"$WORK/compact.err" ||
    put failure "compact failed: $(head -c 300 "$WORK/compact.err" "$WORK/compact.json" | tr '\n|' '  ')"
t1=$(date +%s.%N)
c1="$(cpu_secs "$HEARTH_PID")"
put compact_seconds "$(elapsed "$t0" "$t1")"
put flush_compact_cpu "$(elapsed "$c0" "$c1" 2)"
put compact_result "$(tr -d '\n|' <"$WORK/compact.json" | head -c 300)"
put rss_peak_kib "$(kib VmHWM "$HEARTH_PID")"
# Merged-away parts keep their files for a grace period (queries may still
# read them); these sizes include them. The sizes the report's ratios use are
# taken after the restart below, which deletes them.
put disk_logs_after_compact "$(du -sb "$DATA/parts/logs" 2>/dev/null | cut -f1)"
put disk_whole_after_compact "$(du -sb "$DATA" | cut -f1)"
put lines_ingested_metric "$(metric '^hearth_samples_ingested_total\{signal="logs"')"
put log_bytes_ingested_metric "$(metric '^hearth_log_bytes_ingested_total')"
put rejected_metric "$(metric '^hearth_samples_rejected_total\{.*signal="logs"')"
put background_errors "$(metric '^hearth_storage_background_errors_total')"

# Queries cover the whole window, one second either side.
Q_START=$((START_NS - 1000000000))
Q_END=$((END_NS + 1000000000))
RANGE_H="$(calc "printf \"%d\", $HOURS + 2")"
NEEDLE_Q="{job=~\".+\"} |= \"$NEEDLE\""
COMMON_Q="{job=~\".+\"} |= \"$COMMON\""
EXACT_Q="{job=~\".+\"} |= \"q=$NEEDLE&\""
NGINX_NEEDLES="$(jq -r .families.nginx.needles "$WORK/raw.json")"
COUNT_Q="sum(count_over_time($NEEDLE_Q [${RANGE_H}h]))"
ALL_Q="sum(count_over_time({job=~\".+\"} [${RANGE_H}h]))"
VOLUME_Q="sum by (job) (count_over_time($NEEDLE_Q [5m]))"

log "needle search"
series needle /loki/api/v1/query_range --data-urlencode "query=$NEEDLE_Q" \
    --data-urlencode "start=$Q_START" --data-urlencode "end=$Q_END" --data-urlencode limit=1000
put needle_entries "$(entries needle)"
# Diagnostic: the same needle written with a delimiter on both sides is an
# exact token for the index (a dictionary lookup), while the bare needle may
# sit inside a longer token and is matched against every indexed term. Only
# the nginx lines carry it as `q=<needle>&`.
series exact /loki/api/v1/query_range --data-urlencode "query=$EXACT_Q" \
    --data-urlencode "start=$Q_START" --data-urlencode "end=$Q_END" --data-urlencode limit=1000
put exact_entries "$(entries exact)"
log "common-token search (limit 100)"
series common /loki/api/v1/query_range --data-urlencode "query=$COMMON_Q" \
    --data-urlencode "start=$Q_START" --data-urlencode "end=$Q_END" --data-urlencode limit=100
put common_entries "$(entries common)"
log "metric queries"
series count /loki/api/v1/query --data-urlencode "query=$COUNT_Q" --data-urlencode "time=$Q_END"
put count_value "$(scalar count)"
series volume /loki/api/v1/query_range --data-urlencode "query=$VOLUME_Q" \
    --data-urlencode "start=$Q_START" --data-urlencode "end=$Q_END" --data-urlencode step=300
put volume_sum "$(matrix_sum volume)"
log "count of every line (full scan, one run)"
r="$(loki all /loki/api/v1/query --data-urlencode "query=$ALL_Q" --data-urlencode "time=$Q_END")"
put all_seconds "${r##* }"
put all_status "${r%% *}"
put all_value "$(scalar all)"

log "grep"
# Cold: the raw file dropped from the page cache first; then warm runs.
evict "$RAW"
put grep_cold_cached_mib "$(cached_mib "$RAW")"
g="$(grep_once)"
put grep_count "${g%% *}"
put grep_first "${g##* }"
times=()
for ((i = 0; i < RUNS; i++)); do
    g="$(grep_once)"
    times+=("${g##* }")
done
put grep_best "$(best "${times[@]}")"
put grep_median "$(median "${times[@]}")"
put grep_warm_cached_mib "$(cached_mib "$RAW")"

log "restart: needle search with cold in-process caches (page cache warm)"
stop_hearth
start_hearth || put failure "hearth did not become ready after restart"
put disk_logs "$(du -sb "$DATA/parts/logs" 2>/dev/null | cut -f1)"
put disk_wal_logs "$(du -sb "$DATA/wal-logs" 2>/dev/null | cut -f1)"
put disk_whole "$(du -sb "$DATA" | cut -f1)"
put parts "$(find "$DATA/parts/logs" -name entries.parquet 2>/dev/null | wc -l)"
put parquet_bytes "$(find "$DATA/parts/logs" -name entries.parquet -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')"
put index_bytes "$(find "$DATA/parts/logs" -name index.tantivy -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')"
r="$(loki needle_restart /loki/api/v1/query_range --data-urlencode "query=$NEEDLE_Q" \
    --data-urlencode "start=$Q_START" --data-urlencode "end=$Q_END" --data-urlencode limit=1000)"
put needle_restart "${r##* }"
put needle_restart_entries "$(entries needle_restart)"
[ "${r%% *}" = 200 ] || put failure "needle search after restart answered HTTP ${r%% *}"

log "restart + data dir dropped from the page cache: needle search fully cold"
stop_hearth
mapfile -t data_files < <(find "$DATA" -type f)
evict "${data_files[@]}"
put hearth_cold_cached_mib "$(cached_mib "${data_files[@]}")"
start_hearth || put failure "hearth did not become ready after the second restart"
r="$(loki needle_cold /loki/api/v1/query_range --data-urlencode "query=$NEEDLE_Q" \
    --data-urlencode "start=$Q_START" --data-urlencode "end=$Q_END" --data-urlencode limit=1000)"
put needle_cold "${r##* }"
put needle_cold_entries "$(entries needle_cold)"
[ "${r%% *}" = 200 ] || put failure "cold needle search answered HTTP ${r%% *}"
put rss_after_restart_kib "$(kib VmRSS "$HEARTH_PID")"
stop_hearth

# A general-purpose compressor over the same bytes, for scale.
if command -v zstd >/dev/null; then
    log "zstd -3 over the raw file (reference)"
    put zstd3_bytes "$(nice -n 19 zstd -3 -T0 -q -c "$RAW" | wc -c)"
fi

server_log_summary

# Count checks: anything off is a failure, not a footnote.
[ "$(get needle_entries)" = "$NEEDLES" ] || put failure "needle search returned $(get needle_entries) entries, expected $NEEDLES"
[ "$(get grep_count)" = "$NEEDLES" ] || put failure "grep counted $(get grep_count) needle lines, expected $NEEDLES"
[ "$(get needle_restart_entries)" = "$NEEDLES" ] || put failure "needle search after restart returned $(get needle_restart_entries) entries, expected $NEEDLES"
[ "$(get needle_cold_entries)" = "$NEEDLES" ] || put failure "cold needle search returned $(get needle_cold_entries) entries, expected $NEEDLES"
[ "$(get exact_entries)" = "$NGINX_NEEDLES" ] || put failure "exact-token needle search returned $(get exact_entries) entries, expected $NGINX_NEEDLES"
[ "$(get common_entries)" = 100 ] || put failure "common-token search returned $(get common_entries) entries, expected 100"
[ "$(get count_value)" = "$NEEDLES" ] || put failure "count_over_time of the needle gave $(get count_value), expected $NEEDLES"
[ "$(get all_value)" = "$LINES" ] || put failure "count_over_time of every line gave $(get all_value), expected $LINES"
[ "$(get push_lines_acked)" = "$LINES" ] || put failure "$(get push_lines_acked) of $LINES lines acknowledged"

# --- report ------------------------------------------------------------------

mb() { calc "printf \"%.1f\", $1 / 1e6"; }
ms() { awk -v s="$1" 'BEGIN { if (s != "" && s + 0 >= 0) printf "%.0f", s * 1000; else printf "n/a" }'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a") print "n/a"; else if (a + 0 >= b + 0) print "met"; else print "**not met**" }'; }

ingest_cpu="$(get ingest_cpu)"
mbs_wall="$(ratio "$(mb "$RAW_BYTES")" "$INGEST_S")"
mbs_cpu="$(ratio "$(mb "$RAW_BYTES")" "$ingest_cpu")"
mbs_cpu_all="$(ratio "$(mb "$RAW_BYTES")" "$(calc "printf \"%.2f\", $ingest_cpu + $(get flush_compact_cpu)")")"
comp_logs="$(ratio "$RAW_BYTES" "$(get disk_logs)")"
comp_whole="$(ratio "$RAW_BYTES" "$(get disk_whole)")"
needle_vs_grep_warm="$(ratio "$(get grep_best)" "$(get needle_best)")"
needle_vs_grep_cold="$(ratio "$(get grep_first)" "$(get needle_cold)")"
{
    echo "# Logs benchmark results"
    echo
    echo "Generated by \`bench/logs.sh\` (started $STARTED_AT). Do not edit by hand; re-run the"
    echo "script. What is measured and how: [README.md](README.md#logs-benchmark-logssh)."
    echo
    echo "## Machine"
    echo
    machine "$WORK"
    echo "- Source when the run started: \`${SOURCE%% *}\` ${SOURCE#* }"
    echo "- Versions: Hearth \`$(get version)\`; \`$(grep --version | head -n1)\`; \`$(curl --version | head -n1 | cut -d' ' -f1-2)\`"
    echo
    echo "## Command"
    echo
    echo '```sh'
    echo "BYTES=$BYTES HOURS=$HOURS SEED=$SEED CONNECTIONS=$CONNECTIONS bench/logs.sh"
    echo '```'
    echo
    echo "Data: $LINES lines, $RAW_BYTES bytes of lines ($(mb "$RAW_BYTES") MB; the raw file adds one"
    echo "newline per line: $(get file_bytes) bytes), 40 streams, spread evenly over ${HOURS} h ending at"
    echo "$END_MS ms; by family: $(jq -r '.families | to_entries | map("\(.key) \(.value.lines) lines / \(.value.bytes) B") | join(", ")' "$WORK/raw.json")."
    echo "The needle \`$NEEDLE\` is in $NEEDLES lines (one every $(jq -r .needle_every "$WORK/raw.json"))."
    echo "Loki push (snappy protobuf, ~1 MiB of lines per request) over $CONNECTIONS connections on loopback;"
    echo "the generator ($(get raw_gen_mb_per_sec) MB/s alone when writing the file) shares the $(nproc) cores with Hearth"
    echo "and used $(get loggen_cpu) CPU-s during the push."
    echo
    echo "## Results"
    echo
    echo "MB = 10^6 bytes of log lines. Hearth CPU is utime+stime from \`/proc/PID/stat\`."
    echo
    echo "| | value | goal |"
    echo "|---|---|---|"
    echo "| ingest, wall | $mbs_wall MB/s ($INGEST_S s) | |"
    echo "| ingest per core (MB per Hearth CPU-second, ingest only) | $mbs_cpu MB/s ($ingest_cpu CPU-s) | |"
    echo "| ingest per core incl. flush + compaction CPU | $mbs_cpu_all MB/s | |"
    echo "| peak RSS during ingest / incl. flush + compaction | $(mib "$(get rss_ingest_kib)") / $(mib "$(get rss_peak_kib)") MiB | |"
    echo "| (disk is measured after flush, compaction and a restart, which deletes merged-away parts kept for queries in flight) | | |"
    echo "| disk, \`parts/logs/\` (Parquet + Tantivy index per part) | $(get disk_logs) B = $(ratio "$(get disk_logs)" "$RAW_BYTES") B per raw byte | |"
    echo "| disk, whole data dir (incl. \`wal-logs/\`) | $(get disk_whole) B = $(ratio "$(get disk_whole)" "$RAW_BYTES") B per raw byte | |"
    echo "| of which \`entries.parquet\` / \`index.tantivy\` | $(get parquet_bytes) B ($(ratio "$RAW_BYTES" "$(get parquet_bytes)")× smaller than raw) / $(get index_bytes) B ($(ratio "$(get index_bytes)" "$RAW_BYTES") B per raw byte) | |"
    echo "| compression, raw / \`parts/logs/\` | ${comp_logs}× | ≥ 10×: $(verdict "$comp_logs" 10) |"
    echo "| compression, raw / whole data dir | ${comp_whole}× | |"
    echo "| for scale: \`zstd -3\` of the raw file (one stream, no index) | $(ratio "$(get file_bytes)" "$(get zstd3_bytes)")× | |"
    echo "| needle search (\`|= \"$NEEDLE\"\`, whole range), warm: best / median of $RUNS | $(ms "$(get needle_best)") / $(ms "$(get needle_median)") ms | |"
    echo "| \`grep -F -c\` over the raw file, warm (page cache): best / median of $RUNS | $(ms "$(get grep_best)") / $(ms "$(get grep_median)") ms | |"
    echo "| needle search speed-up over grep, warm (grep best / Hearth best) | ${needle_vs_grep_warm}× | > 1×: $(verdict "$needle_vs_grep_warm" 1.0001) |"
    echo "| needle search, fully cold (restart + data files evicted from page cache) | $(ms "$(get needle_cold)") ms | |"
    echo "| \`grep -F -c\`, cold (raw file evicted from page cache) | $(ms "$(get grep_first)") ms | |"
    echo "| needle search speed-up over grep, cold | ${needle_vs_grep_cold}× | > 1×: $(verdict "$needle_vs_grep_cold" 1.0001) |"
    echo
    echo "## Query details"
    echo
    echo "All over the whole window (start/end one second outside it); times are curl's \`%{time_total}\`"
    echo "on loopback. \"First\" is the first run after flush + compaction (the process's index cache"
    echo "holds whatever compaction left in it; the page cache is warm)."
    echo
    echo "| query | first | best of $RUNS | median of $RUNS | result | expected |"
    echo "|---|---|---|---|---|---|"
    echo "| \`$NEEDLE_Q\` limit 1000 | $(ms "$(get needle_first)") ms | $(ms "$(get needle_best)") ms | $(ms "$(get needle_median)") ms | $(get needle_entries) entries | $NEEDLES |"
    echo "| diagnostic: \`$EXACT_Q\` limit 1000 (needle as an exact token; nginx lines only) | $(ms "$(get exact_first)") ms | $(ms "$(get exact_best)") ms | $(ms "$(get exact_median)") ms | $(get exact_entries) entries | $NGINX_NEEDLES |"
    echo "| \`$COMMON_Q\` limit 100 | $(ms "$(get common_first)") ms | $(ms "$(get common_best)") ms | $(ms "$(get common_median)") ms | $(get common_entries) entries | 100 |"
    echo "| \`$COUNT_Q\` (instant) | $(ms "$(get count_first)") ms | $(ms "$(get count_best)") ms | $(ms "$(get count_median)") ms | $(get count_value) | $NEEDLES |"
    echo "| \`$VOLUME_Q\` step 5m | $(ms "$(get volume_first)") ms | $(ms "$(get volume_best)") ms | $(ms "$(get volume_median)") ms | sum $(get volume_sum) | $NEEDLES |"
    echo "| \`$ALL_Q\` (instant, full scan, one run) | $(ms "$(get all_seconds)") ms | | | $(get all_value) | $LINES |"
    echo "| needle, after a restart (in-process caches cold, page cache warm) | $(ms "$(get needle_restart)") ms | | | $(get needle_restart_entries) entries | $NEEDLES |"
    echo "| needle, after a restart with the data files evicted ($(get hearth_cold_cached_mib) MiB still cached) | $(ms "$(get needle_cold)") ms | | | $(get needle_cold_entries) entries | $NEEDLES |"
    echo "| \`grep -F -c $NEEDLE\` (LC_ALL=C), first run cold ($(get grep_cold_cached_mib) MiB cached) then warm ($(get grep_warm_cached_mib) MiB cached) | $(ms "$(get grep_first)") ms | $(ms "$(get grep_best)") ms | $(ms "$(get grep_median)") ms | $(get grep_count) lines | $NEEDLES |"
    echo
    echo "Page cache: \"evicted\" means \`dd iflag=nocache count=0\` on exactly those files after \`sync\`"
    echo "(nothing else on the machine is dropped), checked with \`fincore\`. On a VM the host may still cache"
    echo "the disk, so cold reads can be faster than the physical device."
    echo
    echo "## Details"
    echo
    echo "| | value |"
    echo "|---|---|"
    local_keys="push_lines_acked push_requests push_retries push_errors push_errors_4xx push_lines_rejected_4xx push_failed_requests push_compressed_bytes_sent push_first_error lines_ingested_metric log_bytes_ingested_metric rejected_metric background_errors wal_bytes_after_ingest flush_seconds compact_seconds flush_compact_cpu compact_result disk_logs_after_compact disk_whole_after_compact disk_logs disk_wal_logs disk_whole parts parquet_bytes index_bytes rss_after_restart_kib server_log_errors server_log_warnings failure"
    for k in $local_keys; do
        echo "| $k | $(get "$k") |"
    done
    server_log_excerpt
} >"$OUT"
finish
