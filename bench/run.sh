#!/usr/bin/env bash
# Side-by-side remote-write ingest benchmark: Hearth, Prometheus 2.42 and
# VictoriaMetrics 1.79 on loopback, same data, fresh data dirs, one after the
# other. Writes bench/RESULTS.md (or $OUT). See bench/README.md.
#
# Knobs (environment): SERIES HOURS INTERVAL CONNECTIONS BATCH SEED
# SYSTEMS ("hearth prometheus victoriametrics"), OUT, KEEP_WORK=1,
# CARGO_TARGET_DIR (default /work/target-bench), SKIP_BUILD=1, HEARTH_ARGS.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
SERIES="${SERIES:-10000}"
HOURS="${HOURS:-24}"
INTERVAL="${INTERVAL:-15}"
CONNECTIONS="${CONNECTIONS:-4}"
BATCH="${BATCH:-2000}"
SEED="${SEED:-1}"
SYSTEMS="${SYSTEMS:-hearth prometheus victoriametrics}"
OUT="${OUT:-$HERE/RESULTS.md}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
HEARTH_PORT=19700 PROM_PORT=19090 VM_PORT=19428

# WORK and END_MS may be given to add systems to an earlier run's results
# (e.g. SYSTEMS=hearth WORK=/tmp/hearth-bench.X END_MS=... bench/run.sh).
WORK="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench.XXXXXX")}"
RES="$WORK/results"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$RES"
PIDS=()

# Three servers, one results file each: this cleanup, put, get and metric
# replace lib.sh's single-server ones.
cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        log "kept $WORK"
    else
        # Keep the logs next to RESULTS.md's numbers until the next run.
        rm -rf "$WORK"/*/data 2>/dev/null || true
        log "logs left in $WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------

# stop PID: a server that had to be killed still counts as a finished run.
stop() { stop_pid "$1" 60 "pid $1" || true; }

# metric URL PREFIX...: sum of the Prometheus-text samples whose line starts
# with one of the PREFIXes (a metric name, or a name with its full label set).
metric() {
    local url="$1"
    shift
    curl -fsS --max-time 10 "$url" 2>/dev/null | awk -v list="$*" '
        BEGIN { n = split(list, p, " ") }
        /^#/ { next }
        {
            for (i = 1; i <= n; i++) {
                if (index($0, p[i]) != 1) continue
                c = substr($0, length(p[i]) + 1, 1)
                if (c == " " || c == "{" || substr(p[i], length(p[i])) == "}") { s += $NF; break }
            }
        }
        END { printf "%.0f\n", s + 0 }'
}

# put SYSTEM KEY VALUE: record one result.
put() { printf '%s=%s\n' "$2" "$3" >>"$RES/$1.env"; }

loadgen() {
    local url="$1" out="$2"
    local cmd=("$LOADGEN" --url "$url" --series "$SERIES" --hours "$HOURS"
        --interval-secs "$INTERVAL" --connections "$CONNECTIONS" --batch "$BATCH"
        --seed "$SEED" --end-ms "$END_MS")
    # Bounded: a pathologically slow receiver is reported, not waited for.
    timeout --signal=TERM "${LOADGEN_TIMEOUT:-1800}" "${cmd[@]}" >"$out" 2>"$out.stderr"
}

# record_loadgen SYSTEM JSON: copy the loadgen summary into the results.
record_loadgen() {
    local sys="$1" json="$2"
    [ -s "$json" ] || { put "$sys" failure "loadgen printed no summary (timed out after ${LOADGEN_TIMEOUT:-1800} s?)"; return 0; }
    put "$sys" samples_sent "$(jq -r .samples_sent "$json")"
    put "$sys" samples_per_sec "$(jq -r .samples_per_sec "$json")"
    put "$sys" ingest_seconds "$(jq -r .seconds "$json")"
    put "$sys" retries "$(jq -r .retries "$json")"
    put "$sys" errors_4xx "$(jq -r .errors_4xx "$json")"
    put "$sys" failed_requests "$(jq -r .failed_requests "$json")"
    put "$sys" first_error "$(jq -r '.first_error // "" | gsub("[\n|]"; " ")' "$json")"
}

# --- setup -------------------------------------------------------------------

install_packages() {
    local missing=()
    command -v prometheus >/dev/null || missing+=(prometheus)
    dpkg -s victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

vm_binary() {
    local b
    for b in victoria-metrics victoria-metrics-prod; do
        command -v "$b" >/dev/null && { command -v "$b"; return 0; }
    done
    dpkg -L victoria-metrics 2>/dev/null | grep -E '/bin/victoria-metrics(-prod)?$' | head -n1
}

# --- systems -----------------------------------------------------------------

run_hearth() {
    local sys=hearth dir="$WORK/hearth" base="http://127.0.0.1:$HEARTH_PORT"
    rm -rf "$dir/data" && mkdir -p "$dir/data"
    hearth_bg "$dir/data" "$HEARTH_PORT" >"$dir/server.log" 2>&1
    local pid=$!
    PIDS+=("$pid")
    wait_http "$base/-/ready" 120 || { put $sys failure "did not become ready (see server.log)"; stop "$pid"; return 1; }
    put $sys version "$("$HEARTH" version 2>/dev/null | head -n1)"
    log "hearth: ingesting"
    loadgen "$base/api/v1/write" "$dir/loadgen.json" || put $sys failure "loadgen exited $?"
    record_loadgen $sys "$dir/loadgen.json"
    put $sys rss_ingest_kib "$(kib VmHWM "$pid")"
    put $sys rss_after_ingest_kib "$(kib VmRSS "$pid")"
    local t0 t1
    log "hearth: flush"
    t0=$(date +%s.%N)
    curl -fsS --max-time 3600 -X POST "$base/api/v1/admin/flush" >"$dir/flush.json" 2>"$dir/flush.err" ||
        put $sys failure "flush failed: $(head -c 300 "$dir/flush.err" "$dir/flush.json" | tr '\n|' '  ')"
    t1=$(date +%s.%N)
    put $sys flush_seconds "$(elapsed "$t0" "$t1")"
    log "hearth: compact"
    t0=$(date +%s.%N)
    curl -fsS --max-time 3600 -X POST "$base/api/v1/admin/compact" >"$dir/compact.json" 2>"$dir/compact.err" ||
        put $sys failure "compact failed: $(head -c 300 "$dir/compact.err" "$dir/compact.json" | tr '\n|' '  ')"
    t1=$(date +%s.%N)
    put $sys compact_seconds "$(elapsed "$t0" "$t1")"
    put $sys compact_result "$(tr -d '\n|' <"$dir/compact.json" | head -c 200)"
    curl -fsS --max-time 600 "$base/api/v1/sql" --data-urlencode \
        'query=SELECT count(*) AS n FROM samples' >"$dir/count.json" 2>"$dir/count.err" || true
    put $sys samples_stored "$(jq -r '.data.rows[0].n // "n/a"' "$dir/count.json" 2>/dev/null || echo n/a)"
    put $sys rejected "$(metric "$base/metrics" hearth_samples_rejected_total)"
    put $sys samples_ingested_metric "$(metric "$base/metrics" hearth_samples_ingested_total)"
    put $sys background_errors "$(metric "$base/metrics" hearth_storage_background_errors_total)"
    put $sys rss_peak_kib "$(kib VmHWM "$pid")"
    put $sys disk_compacted "$(du -sb "$dir/data/parts" | cut -f1)"
    put $sys disk_whole "$(du -sb "$dir/data" | cut -f1)"
    put $sys parquet_files "$(find "$dir/data/parts" -name '*.parquet' | wc -l)"
    stop "$pid"
}

run_prometheus() {
    local sys=prometheus dir="$WORK/prometheus" base="http://127.0.0.1:$PROM_PORT"
    rm -rf "$dir/data" && mkdir -p "$dir/data"
    printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$dir/prometheus.yml"
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
        --web.enable-admin-api >"$dir/server.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_http "$base/-/ready" 120 || { put $sys failure "did not become ready (see server.log)"; stop "$pid"; return 1; }
    put $sys version "$(prometheus --version 2>&1 | head -n1)"
    log "prometheus: ingesting"
    loadgen "$base/api/v1/write" "$dir/loadgen.json" || put $sys failure "loadgen exited $?"
    record_loadgen $sys "$dir/loadgen.json"
    put $sys rss_ingest_kib "$(kib VmHWM "$pid")"
    put $sys rss_after_ingest_kib "$(kib VmRSS "$pid")"
    put $sys samples_stored "$(metric "$base/metrics" prometheus_tsdb_head_samples_appended_total)"
    put $sys rejected "$(metric "$base/metrics" prometheus_tsdb_out_of_bound_samples_total prometheus_tsdb_out_of_order_samples_total prometheus_tsdb_too_old_samples_total)"
    put $sys rejected_detail "out_of_bound=$(metric "$base/metrics" prometheus_tsdb_out_of_bound_samples_total) out_of_order=$(metric "$base/metrics" prometheus_tsdb_out_of_order_samples_total) too_old=$(metric "$base/metrics" prometheus_tsdb_too_old_samples_total)"
    log "prometheus: snapshot"
    local t0 t1 name
    t0=$(date +%s.%N)
    curl -fsS --max-time 3600 -X POST "$base/api/v1/admin/tsdb/snapshot?skip_head=false" >"$dir/snapshot.json" 2>"$dir/snapshot.err" ||
        put $sys failure "snapshot failed: $(head -c 300 "$dir/snapshot.err" | tr '\n|' '  ')"
    t1=$(date +%s.%N)
    put $sys flush_seconds "$(elapsed "$t0" "$t1")"
    name="$(jq -r '.data.name // empty' "$dir/snapshot.json" 2>/dev/null || true)"
    put $sys rss_peak_kib "$(kib VmHWM "$pid")"
    if [ -n "$name" ] && [ -d "$dir/data/snapshots/$name" ]; then
        put $sys disk_compacted "$(du -sb "$dir/data/snapshots/$name" | cut -f1)"
        put $sys blocks "$(find "$dir/data/snapshots/$name" -mindepth 1 -maxdepth 1 -type d | wc -l)"
    fi
    put $sys disk_whole "$(du -sb --exclude=snapshots "$dir/data" | cut -f1)"
    stop "$pid"
}

run_victoriametrics() {
    local sys=victoriametrics dir="$WORK/victoriametrics" base="http://127.0.0.1:$VM_PORT"
    local bin
    bin="$(vm_binary)"
    [ -n "$bin" ] || { put $sys failure "victoria-metrics binary not found (dpkg -L victoria-metrics)"; return 1; }
    rm -rf "$dir/data" && mkdir -p "$dir/data"
    "$bin" -storageDataPath="$dir/data" -httpListenAddr="127.0.0.1:$VM_PORT" \
        -retentionPeriod=100y >"$dir/server.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_http "$base/health" 120 || { put $sys failure "did not become ready (see server.log)"; stop "$pid"; return 1; }
    put $sys version "$("$bin" -version 2>&1 | head -n1) (Debian $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null))"
    log "victoriametrics: ingesting"
    loadgen "$base/api/v1/write" "$dir/loadgen.json" || put $sys failure "loadgen exited $?"
    record_loadgen $sys "$dir/loadgen.json"
    put $sys rss_ingest_kib "$(kib VmHWM "$pid")"
    put $sys rss_after_ingest_kib "$(kib VmRSS "$pid")"
    log "victoriametrics: force_flush + force_merge"
    local t0 t1 i active
    t0=$(date +%s.%N)
    curl -fsS --max-time 600 "$base/internal/force_flush" >/dev/null 2>&1 || true
    curl -fsS --max-time 3600 "$base/internal/force_merge" >/dev/null 2>&1 ||
        put $sys failure "force_merge failed"
    # force_merge runs in the background: wait (bounded) for merges to settle.
    sleep 2
    # Done when nothing is active and either the log says the forced merge
    # finished or nothing has been active for 10 polls in a row.
    local idle=0
    for ((i = 0; i < 1800; i++)); do
        active="$(metric "$base/metrics" vm_active_force_merges vm_active_merges vm_pending_rows)"
        if [ "$active" = 0 ]; then
            idle=$((idle + 1))
            grep -q 'forced merge.*finished' "$dir/server.log" && break
            [ "$idle" -ge 10 ] && break
        else
            idle=0
        fi
        sleep 1
    done
    t1=$(date +%s.%N)
    put $sys flush_seconds "$(elapsed "$t0" "$t1")"
    put $sys samples_stored "$(metric "$base/metrics" 'vm_rows{type="storage/big"}' 'vm_rows{type="storage/small"}')"
    put $sys rejected "$(metric "$base/metrics" vm_rows_ignored_total vm_rows_invalid_total)"
    put $sys rss_peak_kib "$(kib VmHWM "$pid")"
    put $sys disk_compacted "$(du -sb "$dir/data" | cut -f1)"
    put $sys disk_whole "$(du -sb "$dir/data" | cut -f1)"
    stop "$pid"
}

# --- report ------------------------------------------------------------------

get() { # get SYSTEM KEY
    [ -f "$RES/$1.env" ] || { echo; return; }
    awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); v = (v == "" ? $0 : v "; " $0) } END { print v }' "$RES/$1.env"
}

write_report() {
    local expected=$((SERIES * $(awk -v h="$HOURS" -v i="$INTERVAL" 'BEGIN { printf "%d", h * 3600 / i }')))
    local s
    declare -A sps rss rssi bpc bpw
    for s in hearth prometheus victoriametrics; do
        sps[$s]="$(get $s samples_per_sec)"
        rss[$s]="$(mib "$(get $s rss_peak_kib)")"
        rssi[$s]="$(mib "$(get $s rss_ingest_kib)")"
        bpc[$s]="$(ratio "$(get $s disk_compacted)" "$expected" 3)"
        bpw[$s]="$(ratio "$(get $s disk_whole)" "$expected" 3)"
    done
    {
        echo "# Ingest benchmark results"
        echo
        echo "Generated by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Do not edit by hand;"
        echo "re-run the script. What is measured and how: [README.md](README.md)."
        echo
        echo "## Machine"
        echo
        # shellcheck disable=SC2119 # machine's DIR is optional
        machine
        echo "- Versions: Hearth \`$(get hearth version)\`; \`$(get prometheus version)\`; VictoriaMetrics \`$(get victoriametrics version)\`"
        echo
        echo "## Command"
        echo
        echo '```sh'
        echo "SERIES=$SERIES HOURS=$HOURS INTERVAL=$INTERVAL CONNECTIONS=$CONNECTIONS BATCH=$BATCH SEED=$SEED bench/run.sh"
        echo '```'
        echo
        echo "Data: $SERIES series × ${HOURS} h at ${INTERVAL} s = $expected samples, the same bytes for every"
        echo "system (seed $SEED, last timestamp $END_MS ms), remote write 1.0, $BATCH samples per request,"
        echo "$CONNECTIONS connections, loopback. Generator alone (\`--dry-run\`, no server running):"
        echo "$(jq -r .samples_per_sec "$WORK/dryrun.json" 2>/dev/null || echo n/a) samples/s."
        echo
        echo "## Results"
        echo
        echo "Bytes/sample divide by the $expected samples sent. \"Compacted\" is Hearth's \`parts/\`"
        echo "after flush + compact, Prometheus' snapshot (\`skip_head=false\`: all blocks),"
        echo "VictoriaMetrics' whole data dir after force_flush + force_merge; \"whole dir\" adds"
        echo "the WAL (Hearth, Prometheus) and everything else in the data dir."
        echo
        echo "| | Hearth | Prometheus | VictoriaMetrics | Hearth / Prometheus | Hearth / VictoriaMetrics |"
        echo "|---|---|---|---|---|---|"
        echo "| ingest samples/s | ${sps[hearth]} | ${sps[prometheus]} | ${sps[victoriametrics]} | $(ratio "${sps[hearth]}" "${sps[prometheus]}") | $(ratio "${sps[hearth]}" "${sps[victoriametrics]}") |"
        echo "| peak RSS during ingest (MiB) | ${rssi[hearth]} | ${rssi[prometheus]} | ${rssi[victoriametrics]} | $(ratio "${rssi[hearth]}" "${rssi[prometheus]}") | $(ratio "${rssi[hearth]}" "${rssi[victoriametrics]}") |"
        echo "| peak RSS incl. flush/compaction (MiB) | ${rss[hearth]} | ${rss[prometheus]} | ${rss[victoriametrics]} | $(ratio "${rss[hearth]}" "${rss[prometheus]}") | $(ratio "${rss[hearth]}" "${rss[victoriametrics]}") |"
        echo "| bytes/sample, compacted | ${bpc[hearth]} | ${bpc[prometheus]} | ${bpc[victoriametrics]} | $(ratio "${bpc[hearth]}" "${bpc[prometheus]}") | $(ratio "${bpc[hearth]}" "${bpc[victoriametrics]}") |"
        echo "| bytes/sample, whole dir | ${bpw[hearth]} | ${bpw[prometheus]} | ${bpw[victoriametrics]} | $(ratio "${bpw[hearth]}" "${bpw[prometheus]}") | $(ratio "${bpw[hearth]}" "${bpw[victoriametrics]}") |"
        echo
        echo "Lower is better except samples/s. Target: Hearth bytes/sample ≤ Prometheus; goal: ≤ VictoriaMetrics."
        echo
        echo "## Details"
        echo
        echo "| | Hearth | Prometheus | VictoriaMetrics |"
        echo "|---|---|---|---|"
        local k label
        for k in samples_sent samples_stored samples_ingested_metric background_errors rejected rejected_detail ingest_seconds retries errors_4xx failed_requests \
            flush_seconds compact_seconds disk_compacted disk_whole rss_after_ingest_kib parquet_files blocks compact_result first_error failure; do
            case $k in
            samples_stored) label="samples stored (Hearth: SQL count; Prometheus: head_samples_appended; VM: vm_rows storage)" ;;
            rejected) label="rejected samples (Hearth: *rejected* metrics; Prometheus: out-of-bound/order + too-old; VM: vm_rows_ignored_total + vm_rows_invalid_total)" ;;
            flush_seconds) label="flush seconds (Hearth: admin/flush; Prometheus: snapshot; VM: force_flush+merge until settled)" ;;
            compact_seconds) label="compact seconds (Hearth: admin/compact)" ;;
            disk_compacted | disk_whole) label="$k (bytes)" ;;
            *) label="$k" ;;
            esac
            echo "| $label | $(get hearth $k) | $(get prometheus $k) | $(get victoriametrics $k) |"
        done
    } >"$OUT"
    log "wrote $OUT"
}

# --- main --------------------------------------------------------------------

install_packages || log "package installation failed; systems without a binary will report it"
build_release -p hearth -p hearth-loadgen
HEARTH="$CARGO_TARGET_DIR/release/hearth"
LOADGEN="$CARGO_TARGET_DIR/release/hearth-loadgen"
[ -x "$LOADGEN" ] || { log "missing $LOADGEN"; exit 1; }
case " $SYSTEMS " in *" hearth "*) [ -x "$HEARTH" ] || { log "missing $HEARTH"; exit 1; } ;; esac

# One end timestamp for every system, so all three receive identical requests.
END_MS="${END_MS:-$(($(date +%s) * 1000))}"
echo "$END_MS" >"$WORK/end_ms"
log "work dir $WORK; end timestamp $END_MS"
if [ ! -s "$WORK/dryrun.json" ]; then
    log "generator ceiling (--dry-run)"
    "$LOADGEN" --dry-run --series "$SERIES" --hours "$HOURS" --interval-secs "$INTERVAL" \
        --connections "$CONNECTIONS" --batch "$BATCH" --seed "$SEED" --end-ms "$END_MS" >"$WORK/dryrun.json" || true
fi
cat "$WORK/dryrun.json" >&2

for sys in $SYSTEMS; do
    case $sys in
    hearth) rm -f "$RES/hearth.env"; run_hearth || log "hearth failed" ;;
    prometheus)
        rm -f "$RES/prometheus.env"
        if command -v prometheus >/dev/null; then run_prometheus || log "prometheus failed"
        else put prometheus failure "prometheus binary not found"; fi ;;
    victoriametrics) rm -f "$RES/victoriametrics.env"; run_victoriametrics || log "victoriametrics failed" ;;
    *) log "unknown system $sys" ;;
    esac
    [ -f "$RES/$sys.env" ] && sed 's/^/  /' "$RES/$sys.env" >&2
done
write_report
cat "$OUT"
