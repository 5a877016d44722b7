#!/usr/bin/env bash
# Container lifecycle benchmark: how long does `RUNTIME run` of /bin/true in a
# busybox bundle take (create + start + wait + delete), for our runtime against
# runc and crun?
#
#   bench/lifecycle.sh                 # N=50 runs per runtime
#   N=200 bench/lifecycle.sh
#   RUNTIMES="berth=target/release/runtime runc=/usr/sbin/runc" bench/lifecycle.sh
#
# Runs are paired and interleaved: each round runs every runtime once, in an
# order that rotates from round to round, so drift on the machine (page cache,
# frequency, other load) hits all runtimes alike.  Each run uses a fresh
# container id and each runtime its own --root; after a run (untimed) a
# `delete --force` cleans up anything `run` left behind.  Three untimed warm-up
# runs per runtime come first.  The table shows the median, p10 and p90 in ms
# and each runtime's median relative to ours (to the first runtime listed when
# ours is not built).
#
# The whole comparison runs in a private mount namespace, so the host's mounts
# are untouched.  Hybrid cgroup hosts (cgroup2 at /sys/fs/cgroup/unified next
# to v1): crun 1.8 refuses that layout, so /sys/fs/cgroup/unified is unmounted
# there and every runtime sees the same pure-v1 layout.  Needs root.
#
# berth-ro (BERTH_RO=0 leaves it out): our binary again, installed on a
# read-only bind mount, where it needs no CVE-2019-5736 re-exec per create.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=lifecycle
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_private_ns "$@"

N=${N:-50}
WARMUP=${WARMUP:-3}
if ! [[ $N =~ ^[0-9]+$ ]] || ((N < 1)); then
    echo "lifecycle: N must be a positive integer (got '$N')" >&2
    exit 2
fi

bench_runtimes
n=${#names[@]}
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
bench_ro_copy "$work"
cleanup() {
    local i
    for ((i = 0; i < n; i++)); do
        # Anything a failed run left behind.
        for id in $("${paths[i]}" --root "$work/root-${names[i]}" list -q 2>/dev/null); do
            "${paths[i]}" --root "$work/root-${names[i]}" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    bench_unified_cleanup /sys/fs/cgroup/unified/bench-*-"$$"-* /sys/fs/cgroup/unified/probe-"$$"
    bench_ro_cleanup "$work"
    rm -rf "$work"
}
trap cleanup EXIT

"$repo/bench/mkbundle.sh" "$work/bundle" /bin/true 2>/dev/null
"$repo/bench/mkbundle.sh" "$work/probe" /bin/echo berth-bench-probe 2>/dev/null

# PROFILE=limits: a memory and a pids limit and the Docker/podman default
# seccomp profile, as a real deployment runs containers.
PROFILE=${PROFILE:-plain}
case $PROFILE in
plain) ;;
limits)
    seccomp=/usr/share/containers/seccomp.json
    if ! [[ -r $seccomp ]]; then
        echo "lifecycle: PROFILE=limits needs $seccomp (Debian's containers-common)" >&2
        exit 1
    fi
    caps=$(jq -r '.process.capabilities.bounding[]' "$work/bundle/config.json")
    # shellcheck disable=SC2086  # one argument per capability
    "$repo/bench/seccomp-oci.py" "$seccomp" $caps >"$work/seccomp.json"
    for b in bundle probe; do
        jq --slurpfile sc "$work/seccomp.json" \
            '.linux.resources.memory = {limit: 268435456} | .linux.resources.pids = {limit: 1024}
             | .linux.seccomp = $sc[0]' \
            "$work/$b/config.json" >"$work/$b/config.tmp"
        mv "$work/$b/config.tmp" "$work/$b/config.json"
    done
    ;;
*)
    echo "lifecycle: PROFILE must be plain or limits (got '$PROFILE')" >&2
    exit 2
    ;;
esac

# A runtime that exits 0 without running anything would look very fast: check
# once that each one really runs a container, and leave out those that do not.
keep_names=() keep_paths=()
for ((i = 0; i < n; i++)); do
    mkdir -p "$work/root-${names[i]}"
    out=$("${paths[i]}" --root "$work/root-${names[i]}" run --bundle "$work/probe" "probe-$$" \
        </dev/null 2>"$work/stderr") || true
    "${paths[i]}" --root "$work/root-${names[i]}" delete --force "probe-$$" >/dev/null 2>&1 || true
    if [[ $out == berth-bench-probe ]]; then
        keep_names+=("${names[i]}") keep_paths+=("${paths[i]}")
        : >"$work/times-${names[i]}"
    else
        echo "lifecycle: skipping ${names[i]}: it did not run the probe container (output '$out'):" >&2
        sed 's/^/    | /' "$work/stderr" >&2
    fi
done
names=("${keep_names[@]}") paths=("${keep_paths[@]}")
n=${#names[@]}
if ((n == 0)); then
    echo "lifecycle: no runtime left to measure" >&2
    exit 1
fi

seq_no=0
# run_once I TIMEFILE: one timed lifecycle of runtime I; appends µs to TIMEFILE.
run_once() {
    local i=$1 out=$2 id root t0 t1 rc=0
    seq_no=$((seq_no + 1))
    id=bench-${names[i]}-$$-$seq_no
    root=$work/root-${names[i]}
    # EPOCHREALTIME (bash 5): microseconds, read without forking a timer.
    t0=${EPOCHREALTIME/./}
    "${paths[i]}" --root "$root" run --bundle "$work/bundle" "$id" \
        </dev/null >/dev/null 2>"$work/stderr" || rc=$?
    t1=${EPOCHREALTIME/./}
    "${paths[i]}" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    if ((rc != 0)); then
        echo "lifecycle: ${names[i]} run failed (exit $rc):" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    [[ -n $out ]] && echo $((t1 - t0)) >>"$out"
    return 0
}

echo "lifecycle: $n runtime(s): ${names[*]}; $WARMUP warm-up + $N timed runs each, interleaved" >&2
for ((w = 0; w < WARMUP; w++)); do
    for ((i = 0; i < n; i++)); do run_once "$i" ""; done
done
for ((round = 0; round < N; round++)); do
    for ((k = 0; k < n; k++)); do
        i=$(((round + k) % n))
        run_once "$i" "$work/times-${names[i]}"
    done
done

base=${names[0]}
base_med=$(quantile "$work/times-$base" 0.5)
echo
echo "Container lifecycle (\`run\` of /bin/true in a busybox bundle, then delete), profile $PROFILE, N=$N per runtime"
echo "$(uname -sr), $(nproc) CPUs; times in ms"
echo
echo "| runtime | version | median | p10 | p90 | median vs $base |"
echo "|---|---|---|---|---|---|"
for ((i = 0; i < n; i++)); do
    f=$work/times-${names[i]}
    med=$(quantile "$f" 0.5)
    ver=$("${paths[i]}" --version 2>/dev/null | head -n1 | awk '{ print $NF }') || ver="?"
    ratio=$(awk -v a="$med" -v b="$base_med" 'BEGIN { printf "%.2fx", a / b }')
    echo "| ${names[i]} | ${ver:-?} | $med | $(quantile "$f" 0.1) | $(quantile "$f" 0.9) | $ratio |"
done
