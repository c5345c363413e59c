# Quiet steps for scripts/demo, scripts/test and scripts/setup (sourced, not run).
#
#   steps_init NAME           log to var/log/NAME-<UTC time>.log (or to an inherited $STEPS_LOG)
#   step [--ok N] [--show] LABEL CMD [ARGS...]
#
# A step's output goes to the log; the terminal gets one line per step with its start time and
# duration, in Russian as the rest of the tool. --show also prints the step's stdout (summary tables, URLs); --ok N accepts exit
# code N as done (3: "done, but something needs attention"). On failure: the log's path and the
# last lines of the failing step, then exit with its code. Nested scripts append to the same log.

steps_init() {
    if [ -z "${STEPS_LOG:-}" ]; then
        mkdir -p var/log
        STEPS_LOG=$PWD/var/log/$1-$(date -u +%Y%m%dT%H%M%SZ).log
        : > "$STEPS_LOG"
        export STEPS_LOG
        printf 'журнал: %s\n' "${STEPS_LOG#"$PWD"/}"
    fi
}

# Spaces that fill a label to 44 characters (printf's own width counts bytes: Cyrillic is two).
_pad() {
    local chars
    chars=$(printf '%s' "$1" | LC_ALL=C.UTF-8 wc -m)
    echo $(( chars < 44 ? 44 - chars : 0 ))
}

step() {
    local ok=0 show=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --ok) ok=$2; shift 2 ;;
            --show) show=1; shift ;;
            *) break ;;
        esac
    done
    local label=$1; shift
    local start offset rc=0
    start=$(date +%s)
    offset=$(stat -c %s "$STEPS_LOG")
    printf '\n== %s %s: %s\n' "$(date -u +%FT%TZ)" "$label" "$*" >> "$STEPS_LOG"
    printf '%s  %s%*s ' "$(date +%T)" "$label" "$(_pad "$label")" ''
    if [ "$show" = 1 ]; then
        printf '\n'
        { "$@" 2>> "$STEPS_LOG" | tee -a "$STEPS_LOG"; rc=${PIPESTATUS[0]}; } || true
    else
        "$@" >> "$STEPS_LOG" 2>&1 || rc=$?
    fi
    local took=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ] || [ "$rc" -eq "$ok" ]; then
        local note=""; [ "$rc" -eq 0 ] || note=", требует внимания: код $rc"
        [ "$show" = 0 ] || printf '%8s  %44s ' "" ""
        printf 'готово (%d с)%s\n' "$took" "$note"
        return 0
    fi
    printf 'ОШИБКА (код %d через %d с)\n' "$rc" "$took"
    printf 'журнал: %s; его последние строки этого шага:\n' "$STEPS_LOG" >&2
    tail -c +"$((offset + 1))" "$STEPS_LOG" | tail -n "${STEPS_TAIL:-25}" | sed 's/^/  | /' >&2
    exit "$rc"
}
