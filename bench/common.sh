# shellcheck shell=bash
# Shared by the benchmarks (sourced): a private mount namespace, the runtimes
# to compare, the berth-ro copy, quantiles.  Callers set `me` (their name for
# messages) and `repo`.
: "${me:?}" "${repo:?}"

# Re-exec the caller in a private mount namespace, so the host's mounts are
# untouched; on hybrid cgroup hosts unmount /sys/fs/cgroup/unified there,
# since crun 1.8 refuses that layout (every runtime then sees pure v1).
bench_private_ns() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "$me: must run as root" >&2
        exit 1
    fi
    if [[ -z ${BERTH_BENCH_INNER:-} ]]; then
        exec unshare -m --propagation private env BERTH_BENCH_INNER=1 "$0" "$@"
    fi
    if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
        echo "$me: hybrid cgroups; /sys/fs/cgroup/unified unmounted in our private mount namespace" >&2
        umount /sys/fs/cgroup/unified
    fi
}

# bench_unified_cleanup DIR...: crun 1.8, with /sys/fs/cgroup/unified
# unmounted by bench_private_ns, still makes /sys/fs/cgroup/unified/ID/cgroup.procs
# on the tmpfs below it, which is the host's: such dirs would stay there,
# hidden under its cgroup2 mount.  Removes the given ones (globs that matched
# nothing are skipped).
bench_unified_cleanup() {
    local d
    if [[ ! -d /sys/fs/cgroup/unified ]] || mountpoint -q /sys/fs/cgroup/unified ||
        [[ $(stat -f -c %T /sys/fs/cgroup/unified) != tmpfs ]]; then
        return 0
    fi
    for d in "$@"; do
        [[ -d $d ]] || continue
        rm -f "$d/cgroup.procs"
        rmdir "$d" 2>/dev/null || true
    done
}

# Fill names[] and paths[]: RUNTIMES="name=path ...", or berth (and berth-ro
# unless BERTH_RO=0), runc and crun where installed.
bench_runtimes() {
    names=() paths=()
    local pair p r ours
    if [[ -n ${RUNTIMES:-} ]]; then
        for pair in $RUNTIMES; do
            p=${pair#*=}
            [[ -x $p ]] || { echo "$me: ${pair%%=*}: $p is not executable" >&2; exit 1; }
            names+=("${pair%%=*}") paths+=("$p")
        done
    else
        ours=${BERTH_RUNTIME:-$repo/target/release/runtime}
        if [[ -x $ours ]]; then
            names+=(berth) paths+=("$ours")
            [[ ${BERTH_RO:-1} == 1 ]] && names+=(berth-ro) paths+=("$ours")
        else
            echo "$me: skipping berth: $ours is not built (make build)" >&2
        fi
        for r in runc crun; do
            if p=$(command -v "$r"); then
                names+=("$r") paths+=("$p")
            else
                echo "$me: skipping $r: not installed" >&2
            fi
        done
    fi
    ((${#names[@]} > 0)) || { echo "$me: no runtime to measure" >&2; exit 1; }
}

# berth-ro: our binary copied under WORK/ro, bind-mounted read-only, where it
# needs no CVE-2019-5736 re-exec.  Rewrites its entry in paths[].
bench_ro_copy() {
    local work=$1 i
    for ((i = 0; i < ${#names[@]}; i++)); do
        [[ ${names[i]} == berth-ro ]] || continue
        mkdir -p "$work/ro"
        cp "${paths[i]}" "$work/ro/runtime"
        mount --bind "$work/ro" "$work/ro"
        mount -o remount,bind,ro "$work/ro"
        paths[i]=$work/ro/runtime
    done
}

bench_ro_cleanup() {
    if mountpoint -q "$1/ro"; then umount "$1/ro"; fi
}

# quantile FILE Q: the Q-quantile (0..1, nearest rank) of the µs values in FILE, in ms.
quantile() {
    sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 }
        END { r = int(q * (NR - 1) + 0.5) + 1; printf "%.2f", v[r] / 1000 }'
}
