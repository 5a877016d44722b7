#!/usr/bin/env bash
# exec latency: how long does `RUNTIME exec ID /bin/true` into a running
# container take (what a Kubernetes exec probe costs), for our runtime against
# runc and crun?
#
#   bench/exec.sh                      # N=50 execs per runtime
#   RUNTIMES="berth=target/release/runtime runc=/usr/sbin/runc" N=200 bench/exec.sh
#
# Each runtime runs one container of its own (`sleep`, busybox bundle, runc's
# default config with a memory limit), created untimed; then the execs run
# interleaved, rotating the order each round, after three untimed warm-ups.
# Medians, p10 and p90 in ms, and each median relative to the first runtime.
# Like lifecycle.sh (bench/common.sh): a private mount namespace, berth-ro
# (BERTH_RO=0 leaves it out), RUNTIMES to choose.  Needs root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me="exec"
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_private_ns "$@"

N=${N:-50}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "exec: N must be a positive integer" >&2; exit 2; }
bench_runtimes
n=${#names[@]}
work=$(mktemp -d /tmp/berth-exec.XXXXXX)
bench_ro_copy "$work"
id=bench-exec-$$
cleanup() {
    for ((i = 0; i < n; i++)); do
        "${paths[i]}" --root "$work/root-$i" delete --force "$id" >/dev/null 2>&1 || true
    done
    bench_unified_cleanup "/sys/fs/cgroup/unified/$id"
    bench_ro_cleanup "$work"
    rm -rf "$work"
}
trap cleanup EXIT

"$repo/bench/mkbundle.sh" "$work/bundle" /bin/sleep 600 2>/dev/null
jq '.linux.resources.memory = {limit: 268435456}' "$work/bundle/config.json" >"$work/c.json"
mv "$work/c.json" "$work/bundle/config.json"
for ((i = 0; i < n; i++)); do
    "${paths[i]}" --root "$work/root-$i" run -d --bundle "$work/bundle" "$id" \
        </dev/null >/dev/null 2>"$work/err" || {
        echo "exec: ${names[i]} could not start the container:" >&2
        cat "$work/err" >&2
        exit 1
    }
    : >"$work/times-$i"
done

once() {
    local i=$1 out=$2 t0 t1
    t0=${EPOCHREALTIME/./}
    "${paths[i]}" --root "$work/root-$i" exec "$id" /bin/true </dev/null >/dev/null 2>"$work/err" || {
        echo "exec: ${names[i]} exec failed:" >&2
        cat "$work/err" >&2
        exit 1
    }
    t1=${EPOCHREALTIME/./}
    [[ -z $out ]] || echo $((t1 - t0)) >>"$out"
}
for ((w = 0; w < 3; w++)); do for ((i = 0; i < n; i++)); do once "$i" ""; done; done
for ((round = 0; round < N; round++)); do
    for ((k = 0; k < n; k++)); do
        i=$(((round + k) % n))
        once "$i" "$work/times-$i"
    done
done

base=$(quantile "$work/times-0" 0.5)
echo
echo "exec of /bin/true into a running container (memory limit), N=$N per runtime"
echo "$(uname -sr), $(nproc) CPUs; times in ms"
echo
echo "| runtime | median | p10 | p90 | median vs ${names[0]} |"
echo "|---|---|---|---|---|"
for ((i = 0; i < n; i++)); do
    f=$work/times-$i
    med=$(quantile "$f" 0.5)
    echo "| ${names[i]} | $med | $(quantile "$f" 0.1) | $(quantile "$f" 0.9) |" \
        "$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2fx", a / b }') |"
done
