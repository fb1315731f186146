# shellcheck shell=bash
# Helpers for bench/run.sh, bench/logs.sh and bench/traces.sh, which source
# this file (`. "$HERE/lib.sh"`). It only defines functions; the variables
# below are the caller's, read when a function runs.
#
# For every script:
#   log calc elapsed best median wait_http kib stop_pid hearth_bg
#   build_release ratio mib machine
#   The caller sets ROOT and CARGO_TARGET_DIR (build_release), HEARTH and
#   optionally HEARTH_ARGS (hearth_bg), LOAD_BEFORE (machine).
#
# For a script that drives one Hearth server and keeps one results file
# (logs.sh, traces.sh):
#   put get cpu_secs metric start_hearth stop_hearth cleanup not_ready
#   server_log_summary server_log_excerpt finish
#   The caller sets RES (the results file), BASE (Hearth's HTTP URL), PORT,
#   HZ (getconf CLK_TCK), WORK, DATA, OUT, STARTED_AT and HEARTH_PID ("" when
#   no server runs), and traps EXIT with cleanup.
#
# run.sh drives three servers with a results file each, so it defines its own
# put, get, metric and cleanup after sourcing this file.

# --- every script ------------------------------------------------------------

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

calc() { awk "BEGIN { $1 }"; }

# elapsed T0 T1 [DECIMALS]: T1 - T0 (wall or CPU seconds), 1 decimal unless
# DECIMALS says otherwise.
elapsed() { calc "printf \"%.${3:-1}f\", $2 - $1"; }

# best N...: the smallest. median N...: the middle one (the lower middle for
# an even count).
best() { printf '%s\n' "$@" | sort -g | head -n1; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

# wait_http URL SECONDS: poll until URL answers 2xx.
wait_http() {
    local url="$1" limit="$2" i
    for ((i = 0; i < limit * 5; i++)); do
        curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# kib FIELD PID: a VmHWM/VmRSS line of /proc/PID/status, in KiB.
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status" 2>/dev/null || echo 0; }

# stop_pid PID SECONDS NAME: SIGTERM, bounded wait, then SIGKILL. Returns 1
# when it had to kill, so the caller can decide whether that is a failure.
stop_pid() {
    local pid="$1" limit="$2" name="$3" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < limit * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    log "$name did not stop in $limit s; killing"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}

# hearth_bg DATA_DIR PORT: start $HEARTH in the background, HTTP on PORT and
# OTLP gRPC/HTTP on PORT+1/PORT+2, all on loopback. The caller redirects its
# output and takes the pid from $!.
hearth_bg() {
    # shellcheck disable=SC2086 # HEARTH_ARGS is a list of words
    "$HEARTH" --data-dir "$1" --http-addr "127.0.0.1:$2" \
        --otlp-grpc-addr "127.0.0.1:$(($2 + 1))" \
        --otlp-http-addr "127.0.0.1:$(($2 + 2))" ${HEARTH_ARGS:-} &
}

# build_release CARGO_ARGS...: unless SKIP_BUILD=1; niced so that it does not
# disturb whatever else runs on the machine.
build_release() {
    [ "${SKIP_BUILD:-0}" != 1 ] || return 0
    log "building release binaries into $CARGO_TARGET_DIR"
    (cd "$ROOT" && nice -n 19 cargo build --release "$@")
}

# ratio A B [DECIMALS]: A / B with 2 decimals unless DECIMALS says otherwise;
# "n/a" unless both are positive.
ratio() {
    awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%." d "f", a / b; else printf "n/a" }'
}

mib() { awk -v k="$1" 'BEGIN { if (k + 0 > 0) printf "%.0f", k / 1024; else printf "n/a" }'; }

# machine [DIR]: the report's CPU, RAM, kernel, disk (only with DIR: the
# filesystem under it) and load average lines.
machine() {
    echo "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), nproc = $(nproc)"
    echo "- RAM: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    # shellcheck source=/dev/null
    echo "- Kernel: $(uname -sr); $(. /etc/os-release && echo "$PRETTY_NAME")"
    if [ -n "${1:-}" ]; then
        echo "- Disk under the work dir: $(df -PT "$1" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
    fi
    echo "- Load average (1/5/15 min) when the run started: $LOAD_BEFORE; at report time: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# --- one Hearth server, one results file (logs.sh, traces.sh) ----------------

put() { printf '%s=%s\n' "$1" "$2" >>"$RES"; }
get() { awk -F= -v k="$1" '$1 == k { sub(/^[^=]*=/, ""); v = (v == "" ? $0 : v "; " $0) } END { print v }' "$RES" 2>/dev/null; }

# cpu_secs PID: user + system CPU seconds the process has used so far.
cpu_secs() {
    awk -v hz="$HZ" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# metric REGEX: sum of the /metrics samples whose line matches REGEX.
metric() {
    curl -fsS --max-time 10 "$BASE/metrics" 2>/dev/null |
        awk -v re="$1" '/^#/ { next } $0 ~ re { s += $NF } END { printf "%.0f\n", s + 0 }'
}

# start_hearth: appends to the server log, which spans every restart.
start_hearth() {
    hearth_bg "$DATA" "$PORT" >>"$WORK/server.log" 2>&1
    HEARTH_PID=$!
    wait_http "$BASE/ready" 300
}

# stop_hearth: a server that has to be killed is a failure in the report.
stop_hearth() {
    [ -n "$HEARTH_PID" ] || return 0
    stop_pid "$HEARTH_PID" 120 hearth || put failure "hearth did not stop within 120 s of SIGTERM"
    HEARTH_PID=""
}

cleanup() {
    if [ -n "$HEARTH_PID" ]; then
        kill -KILL "$HEARTH_PID" 2>/dev/null || true
    fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}

# not_ready TITLE: for a first start that failed: the server log tail goes to
# stderr and, under "# TITLE", becomes the whole report; then exit 1.
not_ready() {
    log "hearth did not become ready; server log tail:"
    tail -n 30 "$WORK/server.log" >&2
    {
        echo "# $1"
        echo
        echo "Run of $STARTED_AT **failed**: Hearth did not answer \`GET /ready\` within 300 s. Server log tail:"
        echo
        echo '```'
        tail -n 30 "$WORK/server.log" | cut -c1-400
        echo '```'
    } >"$OUT"
    exit 1
}

# server_log_summary: once the server is stopped, so the log is complete.
server_log_summary() {
    put server_log_errors "$(grep -c -E '(ERROR|panicked)' "$WORK/server.log" || true)"
    put server_log_warnings "$(grep -c 'WARN' "$WORK/server.log" || true)"
    grep -E '(ERROR|WARN|panicked)' "$WORK/server.log" | head -n 20 >"$WORK/server-excerpt.log" || true
}

# server_log_excerpt: the report's section with server_log_summary's lines,
# if there are any.
server_log_excerpt() {
    if [ -s "$WORK/server-excerpt.log" ]; then
        echo
        echo "Server log, first ERROR/WARN lines:"
        echo
        echo '```'
        cut -c1-400 "$WORK/server-excerpt.log"
        echo '```'
    fi
}

# finish: show the report; any recorded failure makes the run exit 1.
finish() {
    log "wrote $OUT"
    cat "$OUT"
    if [ -n "$(get failure)" ]; then
        log "FAILURES: $(get failure)"
        exit 1
    fi
}
