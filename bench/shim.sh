#!/usr/bin/env bash
# The shim against conmon (Debian's), in the same run, interleaved:
#   rss    an idle monitor's resident memory (VmRSS), shim vs conmon
#   start  `shim run -d` to running vs conmon + `runtime start` (our runtime
#          and runc under conmon)
#   logs   a container writing LOG_MB of lines: MB/s into the log, every
#          line checked afterwards
#   ps     `shim ps -a` over PS_N containers
# Variables: N (rounds, 10), LOG_MB (210), PS_N (100), SHIM, BERTH_RUNTIME.
set -euo pipefail
me=bench/shim.sh
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-10}
LOG_MB=${LOG_MB:-210}
PS_N=${PS_N:-100}
SHIM=${SHIM:-$repo/target/release/shim}
RUNTIME=${BERTH_RUNTIME:-$repo/target/release/runtime}
BUILDER=${BUILDER:-$repo/target/release/builder}
for b in "$SHIM" "$RUNTIME" "$BUILDER"; do
    [[ -x $b ]] || { echo "$me: $b is not built (make build)" >&2; exit 1; }
done
command -v conmon >/dev/null || { echo "$me: conmon is not installed" >&2; exit 1; }
command -v runc >/dev/null || { echo "$me: runc is not installed" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench-shim.XXXXXX)
root=$work/root store=$work/store
cleanup() {
    for id in $("$SHIM" --root "$root" ps -aq --no-trunc 2>/dev/null); do
        "$SHIM" --root "$root" --store "$store" rm -f "$id" >/dev/null 2>&1 || true
    done
    for c in $(cat "$work"/conmon-ids 2>/dev/null); do
        runc delete -f "$c" >/dev/null 2>&1 || true
        "$RUNTIME" delete -f "$c" >/dev/null 2>&1 || true
    done
    grep -o "$work[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
shim() { "$SHIM" --root "$root" --store "$store" --runtime "$RUNTIME" "$@"; }

# A busybox image (FROM scratch) in a store of our own, and the same rootfs
# as a bundle for conmon.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh sleep seq yes head true cat; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$BUILDER" --root "$store" import -c 'CMD ["sh"]' "$work/rootfs.tar" bb:latest >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now_ns() { date +%s%N; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# A bundle for conmon from the shim's own config.json (same process, mounts,
# limits); its rootfs a plain copy.
bundle() { # DIR ARGS...
    local dir=$1; shift
    mkdir -p "$dir"
    cp -a "$work/rootfs" "$dir/rootfs"
    local id
    id=$(shim create bb "$@")
    jq --arg r "$dir/rootfs" '.root.path = $r | del(.linux.cgroupsPath) | .mounts |= map(select(.destination | startswith("/etc/") | not))' \
        "$root/containers/$id/config.json" >"$dir/config.json"
    shim rm "$id" >/dev/null
}

conmon_run() { # RUNTIME ID BUNDLE LOG -> prints conmon's pid
    local rt=$1 id=$2 b=$3 log=$4
    echo "$id" >>"$work/conmon-ids"
    mkdir -p "$work/exits" "$work/socks"
    conmon --api-version 1 -c "$id" -u "$id" -r "$rt" -b "$b" -p "$b/pid" -P "$b/conmon.pid" \
        -n "$id" --exit-dir "$work/exits" -l "k8s-file:$log" --socket-dir-path "$work/socks" \
        --log-level error --runtime-arg --log-format=json --runtime-arg --log="$b/rt.log"
    "$rt" start "$id"
    cat "$b/conmon.pid"
}

echo "== idle RSS (kB), start to running (ms), N=$N"
bundle "$work/b-sleep" sleep 1000
: >"$work/rss.shim" >"$work/rss.conmon" >"$work/start.shim" >"$work/start.conmon-berth" >"$work/start.conmon-runc"
for ((i = 0; i < N; i++)); do
    t0=$(now_ns); id=$(shim run -d bb sleep 1000); t1=$(now_ns)
    echo $(((t1 - t0) / 1000)) >>"$work/start.shim"
    sleep 0.5
    rss_kb "$(shim inspect -f '{{.State.MonitorPid}}' "$id")" >>"$work/rss.shim"
    shim rm -f "$id" >/dev/null
    for rt in berth runc; do
        path=$RUNTIME; [[ $rt == runc ]] && path=$(command -v runc)
        b=$work/b-$rt-$i; cp -a "$work/b-sleep" "$b"
        c=bench-$rt-$$-$i
        t0=$(now_ns); cpid=$(conmon_run "$path" "$c" "$b" "$b/ctr.log"); t1=$(now_ns)
        echo $(((t1 - t0) / 1000)) >>"$work/start.conmon-$rt"
        if [[ $rt == runc ]]; then
            sleep 0.5
            rss_kb "$cpid" >>"$work/rss.conmon"
        fi
        "$path" kill "$c" KILL >/dev/null 2>&1 || true
        for _ in $(seq 100); do [[ -e $work/exits/$c ]] && break; sleep 0.02; done
        "$path" delete -f "$c" >/dev/null 2>&1 || true
        rm -rf "$b"
    done
done
printf '%-22s %10s\n' "idle RSS shim" "$(median <"$work/rss.shim") kB"
printf '%-22s %10s\n' "idle RSS conmon" "$(median <"$work/rss.conmon") kB"
for k in shim conmon-berth conmon-runc; do
    printf '%-22s %10s\n' "start $k" "$(median <"$work/start.$k" | awk '{printf "%.1f ms", $1/1000}')"
done

echo "== log throughput, $LOG_MB MB of 100-byte lines"
line=$(printf 'x%.0s' $(seq 99))
bytes=$((LOG_MB * 1000 * 1000))
script="yes $line | head -c $bytes"
bundle "$work/b-log" sh -c "$script"
check() { # LOG -> lines of the CRI log whose content is not the line
    awk -v want="$line" '{ if ($3 == "F" && $4 != want) bad++; if ($3 == "F") n++ } END { print n+0, bad+0 }' "$1"
}
: >"$work/log.shim" >"$work/log.conmon"
for ((i = 0; i < (N < 3 ? N : 3); i++)); do
    t0=$(now_ns); id=$(shim run -d bb sh -c "$script"); shim wait "$id" >/dev/null; t1=$(now_ns)
    echo "$bytes $(((t1 - t0) / 1000))" | awk '{printf "%.1f\n", $1 / $2}' >>"$work/log.shim"
    read -r n bad < <(check "$root/containers/$id/ctr.log")
    echo "shim run $i: $n lines, $bad wrong"
    shim rm -f "$id" >/dev/null
    b=$work/b-logc-$i; cp -a "$work/b-log" "$b"; c=bench-log-$$-$i
    t0=$(now_ns); conmon_run "$(command -v runc)" "$c" "$b" "$b/ctr.log" >/dev/null
    for _ in $(seq 3000); do [[ -e $work/exits/$c ]] && break; sleep 0.01; done; t1=$(now_ns)
    echo "$bytes $(((t1 - t0) / 1000))" | awk '{printf "%.1f\n", $1 / $2}' >>"$work/log.conmon"
    read -r n bad < <(check "$b/ctr.log")
    echo "conmon run $i: $n lines, $bad wrong"
    runc delete -f "$c" >/dev/null 2>&1 || true
    rm -rf "$b"
done
printf '%-22s %10s\n' "log shim" "$(median <"$work/log.shim") MB/s"
printf '%-22s %10s\n' "log conmon" "$(median <"$work/log.conmon") MB/s"

echo "== shim ps -a over $PS_N containers"
for ((i = 0; i < PS_N; i++)); do shim create bb true >/dev/null; done
: >"$work/ps"
for ((i = 0; i < N; i++)); do
    t0=$(now_ns); shim ps -a >/dev/null; t1=$(now_ns)
    echo $(((t1 - t0) / 1000)) >>"$work/ps"
done
printf '%-22s %10s\n' "ps -a ($PS_N)" "$(median <"$work/ps" | awk '{printf "%.1f ms", $1/1000}')"
