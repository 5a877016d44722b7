#!/usr/bin/env bash
# The shim against conmon (Debian's), in the same run, rounds interleaved:
#   start  `shim run -d` until running, vs conmon + `RUNTIME start` for our
#          runtime, runc and crun, on the same config.json (the shim's own,
#          cgroup included; conmon gets a plain copy of the rootfs, the shim
#          mounts its overlay, inside the time)
#   rss    a monitor's VmRSS with its container idle (after IDLE seconds)
#   logs   a container writing LOG_MB of 100-byte lines: MB/s until it has
#          exited and its log is complete, every line checked afterwards
#   ps     `shim ps -a` over PS_N containers
# Variables: N (rounds, 10), LOG_MB (210), LOG_N (log rounds, 3), PS_N (100),
# IDLE (2), SHIM, BUILDER, BERTH_RUNTIME.
set -euo pipefail
me=bench/shim.sh
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"
bench_private_ns "$@"

N=${N:-10}
LOG_MB=${LOG_MB:-210}
LOG_N=${LOG_N:-3}
PS_N=${PS_N:-100}
IDLE=${IDLE:-2}
SHIM=${SHIM:-$repo/target/release/shim}
BUILDER=${BUILDER:-$repo/target/release/builder}
RUNTIME=${BERTH_RUNTIME:-$repo/target/release/runtime}
for b in "$SHIM" "$RUNTIME" "$BUILDER"; do
    [[ -x $b ]] || { echo "$me: $b is not built (make build)" >&2; exit 1; }
done
command -v conmon >/dev/null || { echo "$me: conmon is not installed" >&2; exit 1; }
peers=(berth)
for r in runc crun; do
    if command -v "$r" >/dev/null; then peers+=("$r"); else echo "$me: skipping $r: not installed" >&2; fi
done
rt_path() { if [[ $1 == berth ]]; then echo "$RUNTIME"; else command -v "$1"; fi; }

work=$(mktemp -d /tmp/berth-bench-shim.XXXXXX)
root=$work/root store=$work/store
shim() { "$SHIM" --root "$root" --store "$store" --runtime "$RUNTIME" "$@"; }
cleanup() {
    local id c
    for id in $(shim ps -aq --no-trunc 2>/dev/null); do shim rm -f "$id" >/dev/null 2>&1 || true; done
    while read -r c; do
        for r in "${peers[@]}"; do "$(rt_path "$r")" delete -f "$c" >/dev/null 2>&1 || true; done
    done <"$work/conmon-ids"
    rm -rf "$work"
}
touch "$work/conmon-ids"
trap cleanup EXIT

# A busybox image (FROM scratch) in a store of our own; the same rootfs
# plain for conmon's bundles.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/exits" "$work/socks"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh sleep seq yes head true cat; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$BUILDER" --root "$store" import -c 'CMD ["sh"]' "$work/rootfs.tar" bb:latest >/dev/null

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now_us() { echo $(($(date +%s%N) / 1000)); }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# The shim's config.json for ARGS as a template for conmon's bundles (its
# container-dir binds of /etc files left out).
template() { # FILE ARGS...
    local out=$1 id
    shift
    id=$(shim create bb "$@")
    jq '.mounts |= map(select(.destination | startswith("/etc/") | not))' \
        "$root/containers/$id/config.json" >"$out"
    shim rm "$id" >/dev/null
}

# conmon as podman drives it: it reports the container's pid on the sync
# pipe once `create` is done; then `start`.
mkfifo "$work/sync"
exec {sync}<>"$work/sync"
conmon_bundle() { # ID TEMPLATE -> sets bundle (made outside the time)
    bundle=$work/b-$1
    mkdir -p "$bundle"
    cp -a "$work/rootfs" "$bundle/rootfs"
    jq --arg r "$bundle/rootfs" --arg cg "/berth-bench/$1" \
        '.root.path = $r | .linux.cgroupsPath = $cg' "$2" >"$bundle/config.json"
    echo "$1" >>"$work/conmon-ids"
}
conmon_run() { # PEER ID (conmon_bundle first) -> sets cpid
    local rt id=$2 line
    rt=$(rt_path "$1")
    _OCI_SYNCPIPE=$sync conmon --api-version 1 -c "$id" -u "$id" -r "$rt" -b "$bundle" \
        -p "$bundle/pid" -P "$bundle/conmon.pid" -n "$id" --exit-dir "$work/exits" \
        -l "k8s-file:$bundle/ctr.log" --socket-dir-path "$work/socks" --log-level error \
        --runtime-arg --log-format=json --runtime-arg --log="$bundle/rt.log"
    read -r line <&"$sync"
    [[ $line == *'"data": '[1-9]* ]] || { echo "$me: conmon $1: $line" >&2; exit 1; }
    "$rt" start "$id"
    cpid=$(cat "$bundle/conmon.pid")
}
conmon_end() { # PEER ID
    local rt
    rt=$(rt_path "$1")
    "$rt" kill "$2" KILL >/dev/null 2>&1 || true
    for _ in $(seq 500); do [[ -e $work/exits/$2 ]] && break; sleep 0.01; done
    "$rt" delete -f "$2" >/dev/null 2>&1 || true
    rm -rf "$work/b-$2"
}

echo "== start to running (ms), idle RSS after ${IDLE}s (kB); N=$N, peers: ${peers[*]}"
template "$work/t-sleep.json" sleep 1000
for ((i = 0; i < N; i++)); do
    t0=$(now_us); id=$(shim run -d bb sleep 1000); t1=$(now_us)
    echo $((t1 - t0)) >>"$work/start.shim"
    sleep "$IDLE"
    rss_kb "$(shim inspect -f '{{.State.MonitorPid}}' "$id")" >>"$work/rss.shim"
    shim rm -f "$id" >/dev/null
    for p in "${peers[@]}"; do
        c=bench-$p-$$-$i
        conmon_bundle "$c" "$work/t-sleep.json"
        t0=$(now_us); conmon_run "$p" "$c"; t1=$(now_us)
        echo $((t1 - t0)) >>"$work/start.conmon-$p"
        if [[ $p == berth ]]; then
            sleep "$IDLE"
            rss_kb "$cpid" >>"$work/rss.conmon"
        fi
        conmon_end "$p" "$c"
    done
done
ms() { awk '{printf "%.1f ms", $1 / 1000}'; }
printf '%-26s %12s\n' "start shim run -d" "$(median "$work/start.shim" | ms)"
for p in "${peers[@]}"; do
    printf '%-26s %12s\n' "start conmon + $p" "$(median "$work/start.conmon-$p" | ms)"
done
printf '%-26s %12s\n' "idle RSS shim monitor" "$(median "$work/rss.shim") kB"
printf '%-26s %12s\n' "idle RSS conmon" "$(median "$work/rss.conmon") kB"

echo "== log throughput: $LOG_MB MB of 100-byte lines, $LOG_N rounds"
line=$(printf 'x%.0s' $(seq 99))
bytes=$((LOG_MB * 1000 * 1000))
script="yes $line | head -c $bytes"
template "$work/t-log.json" sh -c "$script"
check() { # LOG -> lines (P parts joined to their F end), and those that are not the line
    awk -v want="$line" '{ acc = acc $4 } $3 == "F" { n++; if (acc != want) bad++; acc = "" }
        END { print n+0, bad+0 }' "$1"
}
want=$((bytes / 100))
for ((i = 0; i < LOG_N; i++)); do
    t0=$(now_us); id=$(shim run -d bb sh -c "$script"); shim wait "$id" >/dev/null; t1=$(now_us)
    echo "$bytes $((t1 - t0))" | awk '{printf "%.1f\n", $1 / $2}' >>"$work/log.shim"
    read -r n bad < <(check "$root/containers/$id/ctr.log")
    echo "  shim   round $i: $n of $want lines, $bad wrong"
    shim rm -f "$id" >/dev/null
    c=bench-log-$$-$i
    conmon_bundle "$c" "$work/t-log.json"
    t0=$(now_us); conmon_run berth "$c"
    for _ in $(seq 6000); do [[ -e $work/exits/$c ]] && break; sleep 0.01; done
    t1=$(now_us)
    echo "$bytes $((t1 - t0))" | awk '{printf "%.1f\n", $1 / $2}' >>"$work/log.conmon"
    read -r n bad < <(check "$bundle/ctr.log")
    echo "  conmon round $i: $n of $want lines, $bad wrong"
    conmon_end berth "$c"
done
printf '%-26s %12s\n' "log shim" "$(median "$work/log.shim") MB/s"
printf '%-26s %12s\n' "log conmon" "$(median "$work/log.conmon") MB/s"

echo "== shim ps -a over $PS_N containers"
for ((i = 0; i < PS_N; i++)); do shim create bb true >/dev/null; done
for ((i = 0; i < N; i++)); do
    t0=$(now_us); shim ps -a >/dev/null; t1=$(now_us)
    echo $((t1 - t0)) >>"$work/ps"
done
printf '%-26s %12s\n' "ps -a ($PS_N containers)" "$(median "$work/ps" | ms)"
