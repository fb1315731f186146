#!/usr/bin/env bash
# Traces benchmark: exports ~1.2 M realistic spans (a twelve-service shop:
# gRPC/HTTP client-server pairs, SQL, Redis, Kafka, ~3 % errors) into Hearth
# over OTLP/HTTP on loopback, then reports ingest spans/s (wall and per
# Hearth CPU-second), peak RSS, bytes on disk per span next to the OTLP
# protobuf bytes per span, trace-by-id latency after a restart, and the
# latency of typical Grafana trace searches.
# Writes bench/TRACES-RESULTS.md (or $OUT). See bench/README.md.
#
# Knobs (environment): SPANS HOURS SEED CONNECTIONS BATCH_SPANS LOOKUPS
# ID_EVERY OUT KEEP_WORK=1 SKIP_BUILD=1 CARGO_TARGET_DIR (default
# /work/target-bench) HEARTH_ARGS TRACEGEN_TIMEOUT.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
SPANS="${SPANS:-1200000}"
HOURS="${HOURS:-6}"
SEED="${SEED:-1}"
CONNECTIONS="${CONNECTIONS:-4}"
BATCH_SPANS="${BATCH_SPANS:-8192}"
LOOKUPS="${LOOKUPS:-20}"
# About 1 trace in 250 is sampled for lookups: ~200 ids at the default size,
# of which LOOKUPS spread over the window are queried.
ID_EVERY="${ID_EVERY:-250}"
OUT="${OUT:-$HERE/TRACES-RESULTS.md}"
RUNS=5
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
# Not run.sh's or logs.sh's ports, so the benchmarks can run side by side.
PORT=19720
BASE="http://127.0.0.1:$PORT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hearth-traces-bench.XXXXXX")"
DATA="$WORK/data"
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

# fetch NAME PATH [curl args...]: one timed GET; prints "http_code seconds
# bytes" and leaves the body in $WORK/q/NAME.out. Never fails: a refused
# connection reads as HTTP 000.
fetch() {
    local name="$1" path="$2" r
    shift 2
    mkdir -p "$WORK/q"
    r="$(curl -sS -o "$WORK/q/$name.out" --max-time 600 -w '%{http_code} %{time_total} %{size_download}' \
        "$@" "$BASE$path" 2>>"$WORK/q/$name.err" || true)"
    echo "${r:-000 0 0}"
}

# stats FILE: "median p90 max" of the numbers in FILE, one per line.
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "n/a n/a n/a"; exit }
        m = int((NR + 1) / 2); p = int(NR * 0.9 + 0.999999); if (p < 1) p = 1
        print v[m], v[p], v[NR] }'
}

# timed NAME PATH COUNT_JQ QUERY CURL_ARGS...: a first run, then $RUNS more
# GETs of PATH; records NAME_first/_best/_median (seconds), NAME_status and
# NAME_count (COUNT_JQ over the last answer). A non-200 or an empty answer
# is a failure in the report, not the end of the run.
timed() {
    local name="$1" path="$2" count="$3" q="$4"
    shift 4
    local r code times=() status=200
    r="$(fetch "$name" "$path" -G "$@")"
    code="${r%% *}"
    [ "$code" = 200 ] || status="$code"
    put "${name}_first" "$(echo "$r" | cut -d' ' -f2)"
    for ((i = 0; i < RUNS; i++)); do
        r="$(fetch "$name" "$path" -G "$@")"
        code="${r%% *}"
        [ "$code" = 200 ] || status="$code"
        times+=("$(echo "$r" | cut -d' ' -f2)")
    done
    put "${name}_best" "$(best "${times[@]}")"
    put "${name}_median" "$(median "${times[@]}")"
    put "${name}_status" "$status"
    local n
    n="$(jq "$count" "$WORK/q/$name.out" 2>/dev/null || echo n/a)"
    put "${name}_count" "$n"
    if [ "$status" != 200 ]; then
        put failure "$name (\`$q\`) answered HTTP $status: $(head -c 200 "$WORK/q/$name.out" | tr '\n|`' '   ')"
    elif [ "$n" = n/a ] || [ "$n" = 0 ]; then
        put failure "$name (\`$q\`) returned nothing ($n); every query matches some"
    fi
}

# search NAME QUERY START END: Grafana's search call, timed.
search() {
    timed "$1" /api/search '.traces | length' "$2" --data-urlencode "q=$2" \
        --data-urlencode limit=20 --data-urlencode spss=3 \
        --data-urlencode "start=$3" --data-urlencode "end=$4"
}

# traceql_metrics NAME QUERY START END STEP: a Traces Drilldown panel's
# call, timed.
traceql_metrics() {
    timed "$1" /api/metrics/query_range '.series | length' "$2" --data-urlencode "q=$2" \
        --data-urlencode "start=$3" --data-urlencode "end=$4" --data-urlencode "step=$5"
}

# --- main --------------------------------------------------------------------

for tool in curl jq; do
    command -v "$tool" >/dev/null || { log "missing $tool"; exit 1; }
done
# WAL + parts + slack, generously: refuse to start without room for it.
need_kib=$((SPANS * 2))
avail_kib="$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')"
if [ "$avail_kib" -lt "$need_kib" ]; then
    log "need ~$((need_kib / 1024)) MiB free under $WORK, have $((avail_kib / 1024)) MiB"
    exit 1
fi

build_release -p hearth -p hearth-tracegen
HEARTH="$CARGO_TARGET_DIR/release/hearth"
TRACEGEN="$CARGO_TARGET_DIR/release/hearth-tracegen"
for b in "$HEARTH" "$TRACEGEN"; do
    [ -x "$b" ] || { log "missing $b"; exit 1; }
done

END_MS="$(($(date +%s) * 1000))"
GEN=(--spans "$SPANS" --hours "$HOURS" --seed "$SEED" --end-ms "$END_MS"
    --batch-spans "$BATCH_SPANS" --connections "$CONNECTIONS")
log "work dir $WORK; end timestamp $END_MS"

log "generator ceiling (--dry-run, nothing sent)"
"$TRACEGEN" "${GEN[@]}" --dry-run >"$WORK/dry.json"
cat "$WORK/dry.json" >&2
put gen_spans_per_sec "$(jq -r .spans_per_sec "$WORK/dry.json")"

mkdir -p "$DATA"
log "starting hearth"
start_hearth || not_ready "Traces benchmark results"
put version "$("$HEARTH" version 2>/dev/null | head -n1)"

log "exporting $SPANS spans"
cpu0="$(cpu_secs "$HEARTH_PID")"
t0=$(date +%s.%N)
rc=0
timeout --signal=TERM "${TRACEGEN_TIMEOUT:-3600}" /usr/bin/time -f '%U %S %M' -o "$WORK/tracegen.time" \
    "$TRACEGEN" "${GEN[@]}" --url "$BASE/v1/traces" --write-ids "$WORK/ids.txt" --id-every "$ID_EVERY" \
    >"$WORK/push.json" 2>"$WORK/push.stderr" || rc=$?
t1=$(date +%s.%N)
cpu1="$(cpu_secs "$HEARTH_PID")"
cat "$WORK/push.json" >&2
[ "$rc" = 0 ] || put failure "tracegen exited $rc: $(jq -r '.first_error // .generator_error // empty' "$WORK/push.json" 2>/dev/null | head -c 400 | tr '\n|' '  ') $(head -c 300 "$WORK/push.stderr" | tr '\n|' '  ')"
kill -0 "$HEARTH_PID" 2>/dev/null || put failure "hearth exited during ingest"
INGEST_S="$(elapsed "$t0" "$t1" 2)"
put ingest_seconds "$INGEST_S"
put ingest_cpu "$(elapsed "$cpu0" "$cpu1" 2)"
put tracegen_cpu "$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/tracegen.time" 2>/dev/null || echo n/a)"
for k in spans spans_sent traces error_traces slow_traces_over_500ms mean_spans_per_trace max_spans_per_trace \
    requests bodies protobuf_bytes protobuf_bytes_sent protobuf_bytes_per_span retries errors errors_4xx \
    failed_requests partial_success_responses spans_rejected start_ns end_ns ids_written; do
    put "push_$k" "$(jq -r ".$k" "$WORK/push.json" 2>/dev/null || echo n/a)"
done
put push_first_error "$(jq -r '.first_error // "" | gsub("[\n|]"; " ")' "$WORK/push.json" 2>/dev/null)"
SPANS_SENT="$(get push_spans_sent)"
OTLP_BYTES="$(get push_protobuf_bytes_sent)"
[ "$(get push_spans)" = "$(jq -r .spans "$WORK/dry.json")" ] || put failure "the push generated $(get push_spans) spans, the dry run $(jq -r .spans "$WORK/dry.json")"
put rss_ingest_kib "$(kib VmHWM "$HEARTH_PID")"
put wal_bytes_after_ingest "$(du -sb "$DATA/wal-traces" 2>/dev/null | cut -f1)"
put spans_ingested_metric "$(metric '^hearth_samples_ingested_total\{signal="traces"')"
put rejected_metric "$(metric '^hearth_samples_rejected_total\{.*signal="traces"')"

log "flush"
c0="$(cpu_secs "$HEARTH_PID")"
t0=$(date +%s.%N)
r="$(curl -sS --max-time 3600 -X POST -o "$WORK/flush.json" -w '%{http_code}' "$BASE/api/v1/admin/flush" 2>"$WORK/flush.err" || true)"
t1=$(date +%s.%N)
put flush_status "${r:-000}"
case "${r:-000}" in
2??) ;;
*) put failure "flush answered HTTP ${r:-000}: $(head -c 300 "$WORK/flush.err" "$WORK/flush.json" | tr '\n|' '  ')" ;;
esac
put flush_seconds "$(elapsed "$t0" "$t1")"
put flush_cpu "$(elapsed "$c0" "$(cpu_secs "$HEARTH_PID")" 2)"
put flush_result "$(tr -d '\n|' <"$WORK/flush.json" 2>/dev/null | head -c 300)"
put rss_peak_kib "$(kib VmHWM "$HEARTH_PID")"
put disk_traces "$(du -sb "$DATA/parts/traces" 2>/dev/null | cut -f1)"
put disk_wal_traces "$(du -sb "$DATA/wal-traces" 2>/dev/null | cut -f1)"
put disk_whole "$(du -sb "$DATA" | cut -f1)"
put parts "$(find "$DATA/parts/traces" -name '*.parquet' 2>/dev/null | wc -l)"
if ! [ "$(get disk_traces)" -gt 0 ] 2>/dev/null; then
    put failure "nothing under parts/traces after the flush: the spans are only in the WAL"
fi
put background_errors "$(metric '^hearth_storage_background_errors_total')"

log "restart (cold in-process caches)"
stop_hearth
start_hearth || put failure "hearth did not become ready after the restart"
put disk_traces_after_restart "$(du -sb "$DATA/parts/traces" 2>/dev/null | cut -f1)"
put disk_whole_after_restart "$(du -sb "$DATA" | cut -f1)"

log "trace by id ($LOOKUPS ids spread over the window)"
all_ids=()
[ ! -f "$WORK/ids.txt" ] || mapfile -t all_ids <"$WORK/ids.txt"
ids=()
if [ "${#all_ids[@]}" -gt 0 ]; then
    step=$(((${#all_ids[@]} + LOOKUPS - 1) / LOOKUPS))
    for ((i = 0; i < ${#all_ids[@]} && ${#ids[@]} < LOOKUPS; i += step)); do
        ids+=("${all_ids[$i]}")
    done
fi
put lookup_ids "${#ids[@]} of ${#all_ids[@]} sampled"
[ "${#ids[@]}" -gt 0 ] || put failure "tracegen wrote no trace ids to look up"
: >"$WORK/lookup-first.txt"
: >"$WORK/lookup-warm.txt"
bad=0
# One pass in which every id is read for the first time since the restart,
# then $RUNS warm passes.
for ((pass = 0; pass <= RUNS; pass++)); do
    for id in "${ids[@]}"; do
        r="$(fetch lookup "/api/v2/traces/$id" -H 'Accept: application/protobuf')"
        read -r code secs size <<<"$r"
        if [ "$code" != 200 ] || [ "${size:-0}" -eq 0 ]; then
            bad=$((bad + 1))
            [ "$bad" -gt 1 ] || put failure "GET /api/v2/traces/$id answered HTTP $code with $size bytes: $(head -c 200 "$WORK/q/lookup.out" | tr -cd '[:print:]' | tr '|' ' ')"
        fi
        if [ "$pass" = 0 ]; then
            echo "$secs" >>"$WORK/lookup-first.txt"
            [ "$id" != "${ids[0]}" ] || put lookup_very_first "$secs"
        else
            echo "$secs" >>"$WORK/lookup-warm.txt"
        fi
    done
done
put lookup_failures "$bad"
read -r m p x <<<"$(stats "$WORK/lookup-first.txt")"
put lookup_first_median "$m"
put lookup_first_p90 "$p"
put lookup_first_max "$x"
read -r m p x <<<"$(stats "$WORK/lookup-warm.txt")"
put lookup_warm_median "$m"
put lookup_warm_p90 "$p"
put lookup_warm_max "$x"

log "search"
# A minute of slack either side: the last traces end just after END_MS.
END_S=$((END_MS / 1000 + 60))
HOUR_S=$((END_MS / 1000 - 3600))
ALL_S="$(calc "printf \"%d\", $END_MS / 1000 - $HOURS * 3600 - 60")"
Q_SERVICE='{resource.service.name="checkout"}'
Q_ERROR='{status=error}'
Q_SLOW='{resource.service.name="frontend" && duration>500ms}'
Q_ALL='{}'
search service_hour "$Q_SERVICE" "$HOUR_S" "$END_S"
search error_hour "$Q_ERROR" "$HOUR_S" "$END_S"
search slow_hour "$Q_SLOW" "$HOUR_S" "$END_S"
search all_hour "$Q_ALL" "$HOUR_S" "$END_S"
search service_range "$Q_SERVICE" "$ALL_S" "$END_S"
search error_range "$Q_ERROR" "$ALL_S" "$END_S"
search slow_range "$Q_SLOW" "$ALL_S" "$END_S"
search all_range "$Q_ALL" "$ALL_S" "$END_S"
log "TraceQL metrics"
Q_RATE='{} | rate() by (resource.service.name)'
Q_ERRORS='{status=error} | count_over_time() by (resource.service.name)'
Q_P90='{resource.service.name="checkout"} | quantile_over_time(duration, 0.9)'
Q_HIST='{nestedSetParent<0} | histogram_over_time(duration)'
traceql_metrics rate_hour "$Q_RATE" "$HOUR_S" "$END_S" 60s
traceql_metrics rate_range "$Q_RATE" "$ALL_S" "$END_S" 300s
traceql_metrics errors_range "$Q_ERRORS" "$ALL_S" "$END_S" 300s
traceql_metrics p90_range "$Q_P90" "$ALL_S" "$END_S" 300s
traceql_metrics hist_hour "$Q_HIST" "$HOUR_S" "$END_S" 150s
put rss_after_queries_kib "$(kib VmRSS "$HEARTH_PID")"
put rss_peak_after_restart_kib "$(kib VmHWM "$HEARTH_PID")"
stop_hearth

server_log_summary
[ "$SPANS_SENT" = "$(get push_spans)" ] || put failure "$SPANS_SENT of $(get push_spans) spans acknowledged"

# --- report ------------------------------------------------------------------

ms() { awk -v s="$1" 'BEGIN { if (s != "" && s != "n/a" && s + 0 >= 0) printf "%.1f", s * 1000; else printf "n/a" }'; }

ingest_cpu="$(get ingest_cpu)"
otlp_per_span="$(ratio "$OTLP_BYTES" "$SPANS_SENT" 1)"
search_row() {
    local label="$1" name="$2"
    echo "| $label | $(get "${name}_status") | $(ms "$(get "${name}_first")") | $(ms "$(get "${name}_best")") | $(ms "$(get "${name}_median")") | $(get "${name}_count") |"
}
{
    echo "# Traces benchmark results"
    echo
    echo "Generated by \`bench/traces.sh\` (started $STARTED_AT). Do not edit by hand; re-run the"
    echo "script. What is measured and how: [README.md](README.md#traces-benchmark-tracessh)."
    echo
    echo "## Machine"
    echo
    machine "$WORK"
    echo "- Source when the run started: \`${SOURCE%% *}\` ${SOURCE#* }"
    echo "- Versions: Hearth \`$(get version)\`; \`$(curl --version | head -n1 | cut -d' ' -f1-2)\`"
    echo
    echo "## Command"
    echo
    echo '```sh'
    echo "SPANS=$SPANS HOURS=$HOURS SEED=$SEED CONNECTIONS=$CONNECTIONS BATCH_SPANS=$BATCH_SPANS bench/traces.sh"
    echo '```'
    echo
    echo "Data: $(get push_spans) spans in $(get push_traces) traces ($(get push_mean_spans_per_trace) spans per trace"
    echo "on average, at most $(get push_max_spans_per_trace)); $(get push_error_traces) traces with an error span, $(get push_slow_traces_over_500ms)"
    echo "whose frontend request took over 500 ms; $(jq -r .services "$WORK/dry.json") services, $(jq -r .pods "$WORK/dry.json") pods; spread over ${HOURS} h ending at $END_MS ms."
    echo "OTLP/HTTP protobuf, uncompressed, ~$BATCH_SPANS spans per request ($(get push_requests) requests) over"
    echo "$CONNECTIONS connections on loopback. The generator alone (\`--dry-run\`) makes $(get gen_spans_per_sec) spans/s;"
    echo "during the export it shared the $(nproc) cores with Hearth and used $(get tracegen_cpu) CPU-s."
    echo
    echo "## Results"
    echo
    echo "Hearth CPU is utime+stime from \`/proc/PID/stat\`. OTLP bytes are the uncompressed request bodies."
    echo
    echo "| | value |"
    echo "|---|---|"
    echo "| ingest, wall | $(ratio "$SPANS_SENT" "$INGEST_S" 0) spans/s ($INGEST_S s) |"
    echo "| ingest per core (spans per Hearth CPU-second) | $(ratio "$SPANS_SENT" "$ingest_cpu" 0) spans/s ($ingest_cpu CPU-s) |"
    echo "| peak RSS during ingest / incl. flush | $(mib "$(get rss_ingest_kib)") / $(mib "$(get rss_peak_kib)") MiB |"
    echo "| flush (\`POST /api/v1/admin/flush\`) | HTTP $(get flush_status), $(get flush_seconds) s, $(get flush_cpu) CPU-s |"
    echo "| OTLP protobuf per span | $otlp_per_span B ($OTLP_BYTES B) |"
    echo "| disk, \`parts/traces/\` after flush | $(get disk_traces) B = $(ratio "$(get disk_traces)" "$SPANS_SENT" 1) B per span = $(ratio "$(get disk_traces)" "$OTLP_BYTES") × OTLP |"
    echo "| disk, whole data dir after flush (incl. WAL) | $(get disk_whole) B = $(ratio "$(get disk_whole)" "$SPANS_SENT" 1) B per span = $(ratio "$(get disk_whole)" "$OTLP_BYTES") × OTLP |"
    echo "| of which \`wal-traces/\` | $(get disk_wal_traces) B |"
    echo "| trace by id after restart, first read of each of $(get lookup_ids) ids: median / p90 / max | $(ms "$(get lookup_first_median)") / $(ms "$(get lookup_first_p90)") / $(ms "$(get lookup_first_max)") ms (very first: $(ms "$(get lookup_very_first)") ms) |"
    echo "| trace by id, warm ($RUNS more reads of each): median / p90 / max | $(ms "$(get lookup_warm_median)") / $(ms "$(get lookup_warm_p90)") / $(ms "$(get lookup_warm_max)") ms |"
    echo
    echo "## Search"
    echo
    echo "\`GET /api/search?q=…&limit=20&spss=3&start=…&end=…\` after the restart and the lookups; times are"
    echo "curl's \`%{time_total}\` on loopback: a first run, then best and median of $RUNS. \"Traces\" is"
    echo "\`.traces | length\` of the last answer. Last hour: the window's final hour; whole range: all ${HOURS} h."
    echo
    echo "| query | HTTP | first (ms) | best (ms) | median (ms) | traces |"
    echo "|---|---|---|---|---|---|"
    search_row "\`$Q_SERVICE\`, last hour" service_hour
    search_row "\`$Q_ERROR\`, last hour" error_hour
    search_row "\`$Q_SLOW\`, last hour" slow_hour
    search_row "\`$Q_ALL\`, last hour" all_hour
    search_row "\`$Q_SERVICE\`, whole range" service_range
    search_row "\`$Q_ERROR\`, whole range" error_range
    search_row "\`$Q_SLOW\`, whole range" slow_range
    search_row "\`$Q_ALL\`, whole range" all_range
    echo
    echo "## TraceQL metrics"
    echo
    echo "\`GET /api/metrics/query_range?q=…&start=…&end=…&step=…\` (what Traces Drilldown's panels ask"
    echo "through Grafana), timed as above. \"Series\" is \`.series | length\` of the last answer."
    echo
    echo "| query | step | HTTP | first (ms) | best (ms) | median (ms) | series |"
    echo "|---|---|---|---|---|---|---|"
    search_row "\`$Q_RATE\`, last hour | 60s" rate_hour
    search_row "\`$Q_RATE\`, whole range | 300s" rate_range
    search_row "\`$Q_ERRORS\`, whole range | 300s" errors_range
    search_row "\`$Q_P90\`, whole range | 300s" p90_range
    search_row "\`$Q_HIST\`, last hour | 150s" hist_hour
    echo
    echo "## Details"
    echo
    echo "| | value |"
    echo "|---|---|"
    local_keys="push_spans_sent push_requests push_retries push_errors push_errors_4xx push_failed_requests push_partial_success_responses push_spans_rejected push_first_error push_protobuf_bytes_per_span push_ids_written spans_ingested_metric rejected_metric background_errors wal_bytes_after_ingest flush_result parts disk_traces_after_restart disk_whole_after_restart lookup_failures rss_after_queries_kib rss_peak_after_restart_kib server_log_errors server_log_warnings failure"
    for k in $local_keys; do
        echo "| $k | $(get "$k" | tr '|' ' ') |"
    done
    server_log_excerpt
} >"$OUT"
finish
