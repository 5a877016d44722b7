#!/usr/bin/env bash
# Scale: N containers (default 1000) per runtime, run by P workers at once
# (P = 1, 4 and 16), for our runtime against runc and crun; containers per
# second, and afterwards what each runtime left behind.
#
#   bench/stress.sh                    # N=1000 per runtime and P, P in 1 4 16
#   N=200 PARALLEL="1 8" bench/stress.sh
#   RUNTIMES="berth=target/release/runtime crun=/usr/bin/crun" bench/stress.sh
#
# Each container is one `RUNTIME run` of /bin/true in a busybox bundle: create,
# start, wait and delete in one call, the runtime's own delete, nothing forced
# after it, so whatever a runtime leaves is there to count.  P workers (bash
# loops) each run their share one after another; the rate is the containers of
# a batch over its wall time.  The N containers of each runtime and P are
# split into ROUNDS batches (default 5); each round runs every P and, for
# each, every runtime, in an order that rotates from round to round, so drift
# on the machine hits all alike.  The table shows the median rate over the
# rounds and its ratio to crun's at the same P (to the first runtime listed
# without crun).  Three untimed warm-up runs per runtime first.
#
# Every id starts with this run's prefix (stress-PID-TIME) and the runtime's
# index; each runtime has its own --root and its own copy of the bundle.
# Leftovers, counted per runtime after all runs:
#   state dirs  entries named by our ids under its --root
#   cgroups     cgroup directories named by our ids under /sys/fs/cgroup
#   mounts      lines of /proc/self/mountinfo naming its bundle, its --root or
#               our ids (the runtimes run in this mount namespace)
#   processes   processes whose command line, cgroup, cwd or root names our ids,
#               its bundle or its --root, or that run its bundle's busybox
# and failed runs (non-zero exits).  Exits 1 if any of these is non-zero.
# Shown apart, not failing the run: "tmpfs dirs", directories named by our ids
# that are no cgroup: crun 1.8, with /sys/fs/cgroup/unified unmounted by
# bench/common.sh, still makes /sys/fs/cgroup/unified/ID/cgroup.procs on the
# tmpfs below it (the host's tmpfs, where they would stay, hidden under its
# cgroup2 mount) and never removes them: an artefact of that workaround.  After
# counting, everything found is cleaned up: processes killed, state deleted
# (`delete --force`), cgroups and tmpfs dirs removed, mounts unmounted.
#
# P above the CPU count mostly measures contention (the v1 cgroup joins and
# the kernel's RCU grace periods among them).  Like lifecycle.sh
# (bench/common.sh): a private mount namespace, berth-ro (BERTH_RO=0 leaves it
# out), RUNTIMES to choose.  Needs root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=stress
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_private_ns "$@"

N=${N:-1000}
PARALLEL=${PARALLEL:-1 4 16}
ROUNDS=${ROUNDS:-5}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "stress: N must be a positive integer (got '$N')" >&2; exit 2; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "stress: ROUNDS must be a positive integer" >&2; exit 2; }
((ROUNDS <= N)) || ROUNDS=$N
read -r -a pars <<<"$PARALLEL"
((${#pars[@]} > 0)) || { echo "stress: PARALLEL is empty" >&2; exit 2; }
for p in "${pars[@]}"; do
    [[ $p =~ ^[1-9][0-9]*$ ]] || { echo "stress: PARALLEL must list positive integers (got '$p')" >&2; exit 2; }
done

bench_runtimes
n=${#names[@]}
work=$(mktemp -d /tmp/berth-stress.XXXXXX)
bench_ro_copy "$work"
prefix=stress-$$-$EPOCHSECONDS

# Leftovers of runtime I, one per line, as "KIND WHAT": state, cgroup, tmpfs
# (a cgroup-named dir on a tmpfs), mount, process.
leftovers() {
    local i=$1 d pid cmd link hit argv cgl
    local pat=$prefix-$i- root=$work/root-$i bundle=$work/bundle-$i
    find "$root" -mindepth 1 -maxdepth 1 -name "$pat*" -printf 'state %p\n' 2>/dev/null || true
    find /sys/fs/cgroup/ -mindepth 2 -maxdepth 6 -type d -name "$pat*" -print 2>/dev/null |
        while read -r d; do
            if [[ $(stat -f -c %T "$d") == tmpfs ]]; then echo "tmpfs $d"; else echo "cgroup $d"; fi
        done
    # Fields 4 and 5: the mount's root and its mount point.
    awk -v pat="$pat" -v r="$root" -v b="$bundle" '
        function ours(f) { return f == r || f == b || index(f, r "/") == 1 || index(f, b "/") == 1 }
        index($0, pat) || ours($4) || ours($5) { print "mount " $5 }' /proc/self/mountinfo
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        hit=0
        mapfile -d '' -t argv <"$d/cmdline" 2>/dev/null || continue
        cmd=" ${argv[*]} "
        for link in "$pat" " $root " " $root/" " $bundle " " $bundle/"; do
            [[ $cmd == *"$link"* ]] && hit=1
        done
        mapfile -t cgl <"$d/cgroup" 2>/dev/null || true
        [[ " ${cgl[*]} " == *"$pat"* ]] && hit=1
        for link in cwd root; do
            link=$(readlink "$d/$link" 2>/dev/null) || continue
            [[ $link/ == "$root/"* || $link/ == "$bundle/"* ]] && hit=1
        done
        [[ $d/exe -ef $bundle/rootfs/bin/busybox ]] && hit=1
        if ((hit)); then echo "process $pid${cmd:0:80}"; fi
    done
    return 0
}

cleanup() {
    local i id kind what _
    for ((i = 0; i < n; i++)); do
        leftovers "$i" >"$work/clean-$i" 2>/dev/null || true
        while read -r kind what _; do
            if [[ $kind == process ]]; then kill -KILL "$what" 2>/dev/null || true; fi
        done <"$work/clean-$i"
        for id in $("${paths[i]}" --root "$work/root-$i" list -q 2>/dev/null); do
            "${paths[i]}" --root "$work/root-$i" delete --force "$id" >/dev/null 2>&1 || true
        done
        # Deepest first; a tmpfs one holds crun's cgroup.procs file.
        awk '$1 == "cgroup" || $1 == "tmpfs" { print length($2), $1, $2 }' "$work/clean-$i" | sort -rn |
            while read -r _ kind what; do
                if [[ $kind == tmpfs ]]; then rm -f "$what/cgroup.procs"; fi
                rmdir "$what" 2>/dev/null || true
            done
    done
    awk -v w="$work/" 'index($5, w) == 1 && $5 != w "ro" { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r what; do umount -l "$what" 2>/dev/null || true; done
    bench_ro_cleanup "$work"
    rm -rf "$work"
}
trap cleanup EXIT

for ((i = 0; i < n; i++)); do
    mkdir -p "$work/root-$i"
    "$repo/bench/mkbundle.sh" "$work/bundle-$i" /bin/true 2>/dev/null
    : >"$work/failed-$i"
    : >"$work/err-$i"
done
"$repo/bench/mkbundle.sh" "$work/probe" /bin/echo berth-bench-probe 2>/dev/null

# A runtime that exits 0 without running anything would look very fast: check
# once that each one really runs a container, and leave out those that do not.
keep=()
for ((i = 0; i < n; i++)); do
    out=$("${paths[i]}" --root "$work/root-$i" run --bundle "$work/probe" "$prefix-$i-probe" \
        </dev/null 2>"$work/stderr") || true
    if [[ $out == berth-bench-probe ]]; then
        keep+=("$i")
    else
        echo "stress: skipping ${names[i]}: it did not run the probe container (output '$out'):" >&2
        sed 's/^/    | /' "$work/stderr" >&2
    fi
done
((${#keep[@]} > 0)) || { echo "stress: no runtime left to measure" >&2; exit 1; }

# worker I P COUNT TAG K: containers K, K+P, ... below COUNT of a batch.
worker() {
    local i=$1 p=$2 count=$3 tag=$4 j id
    for ((j = $5; j < count; j += p)); do
        id=$prefix-$i-$tag-$j
        "${paths[i]}" --root "$work/root-$i" run --bundle "$work/bundle-$i" "$id" \
            </dev/null >/dev/null 2>>"$work/err-$i" || echo "$id" >>"$work/failed-$i"
    done
}

# children_cpu: user+sys clock ticks of every process the script has reaped
# (cutime + cstime; the workers' own reaped runtimes roll up into them).
children_cpu() {
    local f
    read -r -a f <"/proc/$$/stat"
    # Fields 16 and 17 (comm, "(bash)", has no space). $$: the main shell, not
    # the subshell of the command substitution.
    echo $((f[15] + f[16]))
}

# batch I P COUNT TAG: COUNT containers of runtime I by P workers; appends the
# rate (containers/s) to WORK/rate-I-P and the CPU time per container (ms,
# every process of the run, the kernel's work for it included) to WORK/cpu-I-P.
batch() {
    local i=$1 p=$2 count=$3 tag=$4 k t0 t1 c0 c1
    c0=$(children_cpu)
    t0=${EPOCHREALTIME/./}
    for ((k = 0; k < p && k < count; k++)); do
        worker "$i" "$p" "$count" "$tag" "$k" &
    done
    wait
    t1=${EPOCHREALTIME/./}
    c1=$(children_cpu)
    awk -v c="$count" -v us=$((t1 - t0)) 'BEGIN { printf "%.1f\n", c * 1e6 / us }' >>"$work/rate-$i-$p"
    awk -v c="$count" -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.2f\n", t * 1000 / hz / c }' >>"$work/cpu-$i-$p"
}
hz=$(getconf CLK_TCK)

m=${#keep[@]}
for i in "${keep[@]}"; do worker "$i" 1 3 warm 0; done
echo "stress: $m runtime(s): $(for i in "${keep[@]}"; do printf '%s ' "${names[i]}"; done)N=$N each at P=${pars[*]}, $ROUNDS rounds, interleaved" >&2
for ((round = 0; round < ROUNDS; round++)); do
    count=$((N / ROUNDS + (round < N % ROUNDS ? 1 : 0)))
    for p in "${pars[@]}"; do
        for ((k = 0; k < m; k++)); do
            i=${keep[(round + k) % m]}
            batch "$i" "$p" "$count" "p$p-r$round"
        done
    done
    echo "stress: round $((round + 1))/$ROUNDS done" >&2
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
base=${keep[0]}
for i in "${keep[@]}"; do [[ ${names[i]} == crun ]] && base=$i; done

echo
echo "Stress: N=$N containers per runtime and P (\`run\` of /bin/true in a busybox bundle, P at once),"
echo "$ROUNDS interleaved rounds; median containers/s (ratio to ${names[base]} at the same P)"
echo "$(uname -sr), $(nproc) CPUs"
echo
for i in "${keep[@]}"; do
    ver=$("${paths[i]}" --version 2>/dev/null | head -n1 | awk '{ print $NF }') || ver="?"
    vers[i]=${ver:-?}
done
# table KIND: per runtime and P, the median of WORK/KIND-I-P and its ratio to base's.
table() {
    local i p r b line header="| runtime | version |" rule="|---|---|"
    for p in "${pars[@]}"; do header+=" P=$p |" rule+="---|"; done
    echo "$header"
    echo "$rule"
    for i in "${keep[@]}"; do
        line="| ${names[i]} | ${vers[i]} |"
        for p in "${pars[@]}"; do
            r=$(median "$work/$1-$i-$p")
            b=$(median "$work/$1-$base-$p")
            line+=" $r ($(awk -v a="$r" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')) |"
        done
        echo "$line"
    done
}
table rate

echo
echo "CPU time per container, median ms (user + system of every process of a run, the"
echo "kernel's work for it included; ratio to ${names[base]}): at P above the CPU count the"
echo "rate is about CPUs / this"
echo
table cpu

echo
echo "Leftovers after $((N * ${#pars[@]} + 4)) containers per runtime ($N per P, 3 warm-up, 1 probe)"
echo
echo "| runtime | failed runs | state dirs | cgroups | mounts | processes | tmpfs dirs (not counted) |"
echo "|---|---|---|---|---|---|---|"
total=0
for i in "${keep[@]}"; do
    leftovers "$i" >"$work/left-$i"
    failed=$(wc -l <"$work/failed-$i")
    cg=$(grep -c '^cgroup ' "$work/left-$i" || true)
    tm=$(grep -c '^tmpfs ' "$work/left-$i" || true)
    st=$(grep -c '^state ' "$work/left-$i" || true)
    mo=$(grep -c '^mount ' "$work/left-$i" || true)
    pr=$(grep -c '^process ' "$work/left-$i" || true)
    echo "| ${names[i]} | $failed | $st | $cg | $mo | $pr | $tm |"
    total=$((total + failed + st + cg + mo + pr))
done
for i in "${keep[@]}"; do
    if grep -qv '^tmpfs ' "$work/left-$i" || [[ -s $work/failed-$i ]]; then
        echo
        echo "${names[i]}: first leftovers and errors:"
        grep -v '^tmpfs ' "$work/left-$i" | head -n5 | sed 's/^/    /' || true
        sort "$work/err-$i" | uniq -c | sort -rn | head -n5 | sed 's/^/    /'
    fi
done
if ((total > 0)); then
    echo "stress: leftovers or failed runs (see above)" >&2
    exit 1
fi
