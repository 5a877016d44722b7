#!/usr/bin/env bash
# Image build benchmark: `builder build` against `buildah bud --layers
# --isolation oci --runtime runc`, the same Dockerfiles (bench/builder/sN.Dockerfile)
# on the same busybox base image, each tool with its own store.
#
#   bench/builder.sh                              # N=5 rounds, every scenario, builder + buildah
#   N=3 SCENARIOS="1 2 6" TOOLS=builder bench/builder.sh
#   TOOLS="builder builder-raw buildah" SCENARIOS=4 bench/builder.sh
#   BUILDER=/path/to/builder BERTH_RUNTIME=/path/to/runtime bench/builder.sh
#   make bench-builder BUILD_N=3
#
# Scenarios (SCENARIOS, default "1 2 3 4 5 6"):
#   1  one RUN step                    4  one RUN writing a BIG_MB MiB (500) random layer
#   2  ten RUN steps                   5  two stages, COPY --from the first
#   3  COPY of FILES (20000) files of  6  metadata only: ten each of ENV, LABEL, EXPOSE,
#      FILE_KB KiB (10), then a RUN       WORKDIR, USER, CMD
# Every Dockerfile but 3's starts FROM busybox, COPY stamp /stamp.  Each is
# built three ways: cold (--no-cache), cached (the same context again: every
# step a cache hit) and changed (after one context file changed: the stamp, or
# in 3 one of the FILES, so every step from there on runs again).
#
# Tools (TOOLS, default "builder buildah"):
#   builder      BUILDER (default target/release/builder), RUN steps through
#                BERTH_RUNTIME (default the static target/<host>/release/runtime,
#                else target/release/runtime); gzip layers, its default
#   builder-raw  the same with --compression uncompressed: buildah keeps layers
#                uncompressed in its store (it compresses at push), so this is
#                the like-for-like layer write
#   buildah      buildah bud --layers --isolation oci --runtime runc --network none
#                --pull=never, storage driver overlay (vfs when overlay does not
#                work here; STORAGE_DRIVER to choose), isolation chroot when oci
#                fails (noted in the table).  BUILDAH=0, or no buildah installed,
#                leaves it out.
# RUN steps have no network in either (builder's default, --network none for
# buildah).
#
# N rounds (default 5) after WARMUP (default 1) untimed cold builds per tool
# and scenario; in each round every tool does cold, cached, changed, the tools
# in an order that rotates from round to round, so drift on the machine hits
# all alike.  The table shows median, p10 and p90 (nearest rank) of the wall
# time of each build command, and each tool's median over the first tool's.
#
# Cost above the command (BARE=0 leaves it out): in scenarios 1 and 4 the
# RUN's command is also run alone, `runtime run` (ours, for builder) and
# `runc run` (for buildah) of an OCI bundle of the busybox image (`builder
# unpack`, process.args set to the command) and deleted, in the same rounds.
# Scenario 1's cold build minus that is what the tool costs on top of the
# command: reading the context, the FROM and COPY stamp steps, the RUN's
# snapshot and container setup, the layer diff, compression and digest, the
# image commit.  Scenario 4's cold build minus its bare run is all layer
# write (the rest is ~scenario 1's overhead): BIG_MB MiB over that is the layer
# throughput.
#
# Everything runs in a private mount namespace (bench/common.sh) under one
# temp dir: the stores, buildah's --root/--runroot/TMPDIR, the contexts.  In
# that namespace /run/berth, /run/berth-builder (the runtime's default root
# and the builder's scratch, which the builder's RUN steps use),
# /var/lib/containers and /run/containers (buildah's blob-info cache and
# network state, written whatever --root says) are covered by empty dirs of
# ours, so the host's are neither read nor written; a cover dir that had to be
# made is removed after.  The cleanup trap removes buildah's containers and
# images, deletes containers left in our runtime root, unmounts everything
# under the temp dir and removes it; leftovers (containers, builder scratch,
# buildah containers) found before that fail the run.  Needs root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me="builder-bench"
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_private_ns "$@"

N=${N:-5}
WARMUP=${WARMUP:-1}
SCENARIOS=${SCENARIOS:-1 2 3 4 5 6}
TOOLS=${TOOLS:-builder buildah}
FILES=${FILES:-20000}
FILE_KB=${FILE_KB:-10}
BIG_MB=${BIG_MB:-500}
BARE=${BARE:-1}
for v in N FILES FILE_KB BIG_MB; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$me: $v must be a positive integer (got '${!v}')" >&2; exit 2; }
done
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "$me: WARMUP must be a non-negative integer" >&2; exit 2; }
read -r -a scenarios <<<"$SCENARIOS"
for s in "${scenarios[@]}"; do
    [[ $s =~ ^[1-6]$ ]] || { echo "$me: SCENARIOS must list numbers 1 to 6 (got '$s')" >&2; exit 2; }
done
((${#scenarios[@]} > 0)) || { echo "$me: SCENARIOS is empty" >&2; exit 2; }

static=$repo/target/$(uname -m)-unknown-linux-gnu/release/runtime
if [[ -z ${BERTH_RUNTIME:-} ]]; then
    if [[ -x $static ]]; then BERTH_RUNTIME=$static; else BERTH_RUNTIME=$repo/target/release/runtime; fi
fi
export BERTH_RUNTIME
builder=${BUILDER:-$repo/target/release/builder}
runc=$(command -v runc || true)

tools=()
for t in $TOOLS; do
    case $t in
    builder | builder-raw)
        for b in "$builder" "$BERTH_RUNTIME"; do
            [[ -x $b ]] || { echo "$me: $t: $b is not built (make build)" >&2; exit 1; }
        done
        tools+=("$t")
        ;;
    buildah)
        if [[ ${BUILDAH:-1} == 0 ]]; then
            echo "$me: skipping buildah: BUILDAH=0" >&2
        elif ! command -v buildah >/dev/null; then
            echo "$me: skipping buildah: not installed (apt-get install buildah)" >&2
        elif [[ -z $runc ]]; then
            echo "$me: skipping buildah: no runc to run its RUN steps" >&2
        else
            tools+=(buildah)
        fi
        ;;
    *) echo "$me: TOOLS: unknown tool '$t' (builder, builder-raw, buildah)" >&2; exit 2 ;;
    esac
done
((${#tools[@]} > 0)) || { echo "$me: no tool to measure" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-builder-bench.XXXXXX)
# Temp files of every tool (buildah's image copies among them) stay inside.
export TMPDIR=$work/tmp
covered=() made=()
bah=()
buildah_ready=0

# cover DIR: an empty dir of ours over DIR in this namespace (a tmpfs where
# DIR's parent is one, as /run often is); DIR is made first when missing.
cover() {
    local d=$1 c
    c=$work/cover/${d//\//_}
    if [[ ! -e $d ]]; then
        mkdir "$d"
        made+=("$d")
    fi
    if [[ $(stat -f -c %T "$(dirname "$d")") == tmpfs ]]; then
        mount -t tmpfs -o mode=0755 tmpfs "$d"
    else
        mkdir -p "$c"
        mount --bind "$c" "$d"
    fi
    covered+=("$d")
}

# Leftovers, one per line: containers in our runtime roots, builder scratch,
# buildah containers.
leftovers() {
    local r id
    for r in /run/berth "$work/rt-berth"; do
        for id in $("$BERTH_RUNTIME" --root "$r" list -q 2>/dev/null); do echo "container $r $id"; done
    done
    if [[ -n $runc && -d $work/rt-runc ]]; then
        for id in $("$runc" --root "$work/rt-runc" list -q 2>/dev/null); do echo "runc-container $id"; done
    fi
    find /run/berth-builder -mindepth 1 -maxdepth 1 -printf 'scratch %p\n' 2>/dev/null || true
    for r in "$work"/store-*/tmp; do
        [[ -d $r ]] && find "$r" -mindepth 1 -maxdepth 1 -printf 'store-tmp %p\n'
    done
    if ((buildah_ready)); then
        "${bah[@]}" containers -q 2>/dev/null | sed 's/^/buildah-container /'
    fi
    return 0
}

cleanup() {
    local rc=$? r id d i
    set +e
    if ((buildah_ready)); then
        "${bah[@]}" rm -a >/dev/null 2>&1
        "${bah[@]}" rmi -a -f >/dev/null 2>&1
    fi
    for r in /run/berth "$work/rt-berth"; do
        for id in $("$BERTH_RUNTIME" --root "$r" list -q 2>/dev/null); do
            "$BERTH_RUNTIME" --root "$r" delete --force "$id" >/dev/null 2>&1
        done
    done
    if [[ -n $runc && -d $work/rt-runc ]]; then
        for id in $("$runc" --root "$work/rt-runc" list -q 2>/dev/null); do
            "$runc" --root "$work/rt-runc" delete --force "$id" >/dev/null 2>&1
        done
    fi
    # Mounts under the work dir (buildah's overlay layers), deepest first;
    # then the covers.
    awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r d; do umount -l "$d" 2>/dev/null; done
    for ((i = ${#covered[@]} - 1; i >= 0; i--)); do umount -l "${covered[i]}"; done
    rm -rf "$work"
    for d in "${made[@]}"; do rmdir "$d" 2>/dev/null; done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work"/{t,log,tmp,rt-berth,rt-runc,cover}
for d in /run/berth /run/berth-builder /var/lib/containers /run/containers; do cover "$d"; done

# log FILE: the last lines of a failed command's output, indented.
show() { tail -n 15 "$1" | sed 's/^/    | /' >&2; }

# The busybox base: a rootfs of busybox-static with its applet links
# (bench/mkbundle.sh), built FROM scratch by our builder as busybox, saved as
# an OCI archive that every other store loads.
"$repo/bench/mkbundle.sh" --rootfs-only "$work/busybox" 2>/dev/null
printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' >"$work/busybox/Dockerfile"
B0=("$builder" --root "$work/store-base")
if ! [[ -x $builder ]]; then
    echo "$me: the busybox base image is built with $builder: not built (make build)" >&2
    exit 1
fi
if ! "${B0[@]}" build -q -t busybox "$work/busybox" >"$work/log/base" 2>&1 ||
    ! "${B0[@]}" save -o "$work/busybox.tar" busybox >>"$work/log/base" 2>&1; then
    echo "$me: building the busybox base image failed:" >&2
    show "$work/log/base"
    exit 1
fi

# Builder stores: builder's own (the base store), builder-raw's loaded from the archive.
for t in "${tools[@]}"; do
    case $t in
    builder) ;;
    builder-raw)
        "$builder" --root "$work/store-raw" load -q -i "$work/busybox.tar" >"$work/log/load-raw" 2>&1 || {
            echo "$me: builder load failed:" >&2
            show "$work/log/load-raw"
            exit 1
        }
        ;;
    esac
done

probe_df=$work/probe.Dockerfile
# shellcheck disable=SC2016  # expanded by the RUN's shell: 42 only when it ran
printf 'FROM busybox\nRUN echo berth-bench-$((6 * 7))\n' >"$probe_df"
mkdir -p "$work/probe"

# buildah: its storage under the work dir, the base pulled from the archive;
# overlay unless it fails here, then vfs.
driver=${STORAGE_DRIVER:-}
isolation=oci
# chroot isolation refuses --network none: it runs in the host's network.
bah_net=none
buildah_note=""
setup_buildah() {
    local d drivers
    if [[ -n $driver ]]; then drivers=$driver; else drivers="overlay vfs"; fi
    for d in $drivers; do
        rm -rf "$work/buildah"
        mkdir -p "$work/buildah"
        bah=(buildah --root "$work/buildah/root" --runroot "$work/buildah/run"
            --storage-driver "$d")
        buildah_ready=1
        if "${bah[@]}" pull -q "oci-archive:$work/busybox.tar" >"$work/log/bah-pull" 2>&1 &&
            "${bah[@]}" images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep -qx 'docker.io/library/busybox:latest'; then
            driver=$d
            [[ $d == overlay ]] || buildah_note+="storage driver $d (overlay failed here); "
            return 0
        fi
        echo "$me: buildah with storage driver $d cannot load the base image:" >&2
        show "$work/log/bah-pull"
        "${bah[@]}" rmi -a -f >/dev/null 2>&1 || true
        awk -v w="$work/buildah/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
            while read -r m; do umount -l "$m" 2>/dev/null || true; done
        buildah_ready=0
    done
    return 1
}

# A tool that exits 0 without running the RUN would look fast: check once
# that each one really runs it (its output in the build log).
probe() {
    local t=$1
    case $t in
    builder) "$builder" --root "$work/store-base" build --progress plain --no-cache -f "$probe_df" "$work/probe" ;;
    builder-raw) "$builder" --root "$work/store-raw" build --progress plain --no-cache -f "$probe_df" "$work/probe" ;;
    buildah) "${bah[@]}" bud --layers --isolation "$isolation" --runtime "$runc" --network "$bah_net" --pull=never \
        --no-cache -f "$probe_df" "$work/probe" ;;
    esac >"$work/log/probe-$t" 2>&1 && grep -q berth-bench-42 "$work/log/probe-$t"
}

keep=()
for t in "${tools[@]}"; do
    if [[ $t == buildah ]]; then
        if ! setup_buildah; then
            echo "$me: skipping buildah: no storage driver works here" >&2
            continue
        fi
        if ! probe buildah; then
            echo "$me: buildah --isolation oci failed here; trying --isolation chroot:" >&2
            show "$work/log/probe-buildah"
            isolation=chroot bah_net=host
            buildah_note+="isolation chroot, network host (oci failed here); "
        fi
    fi
    if probe "$t"; then
        keep+=("$t")
    else
        echo "$me: skipping $t: its probe build did not run the RUN step:" >&2
        show "$work/log/probe-$t"
    fi
done
tools=("${keep[@]}")
((${#tools[@]} > 0)) || { echo "$me: no tool left to measure" >&2; exit 1; }

# Contexts, one per scenario: a stamp file; scenario 3's tree of FILES files
# of FILE_KB KiB of base64 text (random, so no two alike; ~3/4 compressible),
# 100 per directory.
mkdir -p "$work/ctx"
for s in "${scenarios[@]}"; do
    mkdir -p "$work/ctx/$s"
    echo "stamp 0" >"$work/ctx/$s/stamp"
done
if [[ " ${scenarios[*]} " == *" 3 "* ]]; then
    echo "$me: making $FILES files of $FILE_KB KiB for scenario 3" >&2
    python3 - "$work/ctx/3/files" "$FILES" "$FILE_KB" <<'EOF'
import base64, os, sys
root, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = kb * 1024 * 3 // 4
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 100))
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(base64.b64encode(os.urandom(raw)))
EOF
fi
change_no=0
# change S: one context file of scenario S changed.
change() {
    change_no=$((change_no + 1))
    if [[ $1 == 3 ]]; then
        python3 -c 'import base64, os, sys; open(sys.argv[1], "wb").write(base64.b64encode(os.urandom(int(sys.argv[2]) * 768)))' \
            "$work/ctx/3/files/d000/f00000" "$FILE_KB"
    else
        echo "stamp $change_no $EPOCHREALTIME" >"$work/ctx/$1/stamp"
    fi
}

# Bare runs of scenario 1's and 4's RUN command: bundles of the busybox image.
declare -A bare_cmd=([1]='echo hello > /hello' [4]="dd if=/dev/urandom of=/big bs=1M count=$BIG_MB 2>/dev/null")
bares=()
if [[ $BARE == 1 ]]; then
    for t in "${tools[@]}"; do
        case $t in
        builder) bares+=(run-berth) ;;
        buildah) bares+=(run-runc) ;;
        esac
    done
fi
for s in "${scenarios[@]}"; do
    [[ -n ${bare_cmd[$s]:-} && ${#bares[@]} -gt 0 ]] || continue
    if ! "$builder" --root "$work/store-base" unpack busybox "$work/bundle-$s" >"$work/log/unpack" 2>&1; then
        echo "$me: builder unpack failed:" >&2
        show "$work/log/unpack"
        exit 1
    fi
    jq --arg c "${bare_cmd[$s]}" '.process.args = ["/bin/sh", "-c", $c] | .process.terminal = false' \
        "$work/bundle-$s/config.json" >"$work/bundle-$s/config.tmp"
    mv "$work/bundle-$s/config.tmp" "$work/bundle-$s/config.json"
done

seq_no=0
failed=()
# build_cmd TOOL S VARIANT: the command line into cmd[].
build_cmd() {
    local t=$1 s=$2 v=$3 df=$repo/bench/builder/s$2.Dockerfile
    local nc=() arg=()
    [[ $v == cold ]] && nc=(--no-cache)
    [[ $s == 4 ]] && arg=(--build-arg "MB=$BIG_MB")
    case $t in
    builder) cmd=("$builder" --root "$work/store-base" build -q "${nc[@]}" "${arg[@]}" -t "bench-s$s" -f "$df" "$work/ctx/$s") ;;
    builder-raw) cmd=("$builder" --root "$work/store-raw" build -q --compression uncompressed "${nc[@]}" "${arg[@]}"
        -t "bench-s$s" -f "$df" "$work/ctx/$s") ;;
    buildah) cmd=("${bah[@]}" bud -q --layers --isolation "$isolation" --runtime "$runc" --network "$bah_net" --pull=never
        "${nc[@]}" "${arg[@]}" -t "bench-s$s" -f "$df" "$work/ctx/$s") ;;
    run-berth) cmd=("$BERTH_RUNTIME" --root "$work/rt-berth" run --bundle "$work/bundle-$s") ;;
    run-runc) cmd=("$runc" --root "$work/rt-runc" run --bundle "$work/bundle-$s") ;;
    esac
}

# timed TOOL S VARIANT OUT: one build (or bare run); appends µs to OUT ("" =
# untimed).  A failure marks TOOL failed in S.
timed() {
    local t=$1 s=$2 v=$3 out=$4 t0 t1 rc=0 id cmd=()
    [[ " ${failed[*]} " == *" $s:$t "* ]] && return 0
    build_cmd "$t" "$s" "$v"
    seq_no=$((seq_no + 1))
    id=builder-bench-$$-$seq_no
    [[ $t == run-* ]] && cmd+=("$id")
    # EPOCHREALTIME (bash 5): microseconds, read without forking a timer.
    t0=${EPOCHREALTIME/./}
    "${cmd[@]}" </dev/null >"$work/log/last" 2>&1 || rc=$?
    t1=${EPOCHREALTIME/./}
    if [[ $t == run-* ]]; then
        "${cmd[0]}" --root "${cmd[2]}" delete --force "$id" >/dev/null 2>&1 || true
        rm -f "$work/bundle-$s/rootfs/big" "$work/bundle-$s/rootfs/hello"
    fi
    if ((rc != 0)); then
        echo "$me: scenario $s: $t ($v) failed (exit $rc); no more of its builds in this scenario:" >&2
        show "$work/log/last"
        cp "$work/log/last" "$work/log/failed-$s-$t"
        failed+=("$s:$t")
        return 0
    fi
    if [[ -n $out ]]; then echo $((t1 - t0)) >>"$out"; fi
    return 0
}

# tidy S: untimed, after a scenario: its images and build cache go (the 500 MiB
# layers add up), the base stays.
tidy() {
    local t
    for t in "${tools[@]}"; do
        case $t in
        builder) "$builder" --root "$work/store-base" rmi "bench-s$1" && "$builder" --root "$work/store-base" prune -a ;;
        builder-raw) "$builder" --root "$work/store-raw" rmi "bench-s$1" && "$builder" --root "$work/store-raw" prune -a ;;
        buildah) "${bah[@]}" rmi -f "bench-s$1" && "${bah[@]}" rmi -p ;;
        esac >/dev/null 2>&1 || true
    done
}

variants=(cold cached changed)
echo "$me: tools ${tools[*]}${bares[*]:+ (bare runs: ${bares[*]})}; scenarios ${scenarios[*]}; $WARMUP warm-up + $N rounds, interleaved" >&2
for s in "${scenarios[@]}"; do
    units=("${tools[@]}")
    [[ -n ${bare_cmd[$s]:-} ]] && units+=("${bares[@]}")
    m=${#units[@]}
    for ((w = 0; w < WARMUP; w++)); do
        for u in "${units[@]}"; do timed "$u" "$s" cold ""; done
    done
    for ((round = 0; round < N; round++)); do
        for ((k = 0; k < m; k++)); do
            u=${units[(round + k) % m]}
            if [[ $u == run-* ]]; then
                timed "$u" "$s" cold "$work/t/$s-$u-run"
                continue
            fi
            for v in "${variants[@]}"; do
                [[ $v == changed ]] && change "$s"
                timed "$u" "$s" "$v" "$work/t/$s-$u-$v"
            done
        done
        echo "$me: scenario $s: round $((round + 1))/$N done" >&2
    done
    tidy "$s"
done

left=$(leftovers)

# ms F Q: the Q-quantile of F's µs values in ms, 3 significant-ish digits.
ms() {
    sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 }
        END { r = int(q * (NR - 1) + 0.5) + 1; x = v[r] / 1000
              if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else printf "%.2f", x }'
}
ok() { [[ -s $1 ]]; }
cell() { if ok "$1"; then echo "$(ms "$1" 0.5) ($(ms "$1" 0.1)–$(ms "$1" 0.9))"; else echo "failed"; fi; }
ratio() { if ok "$1" && ok "$2"; then awk -v a="$(ms "$1" 0.5)" -v b="$(ms "$2" 0.5)" 'BEGIN { printf "%.2fx", a / b }'; else echo "–"; fi; }
diffms() { awk -v a="$(ms "$1" 0.5)" -v b="$(ms "$2" 0.5)" 'BEGIN { printf "%.0f", a - b }'; }

declare -A title=([1]="1 RUN" [2]="10 RUN" [3]="COPY $FILES×${FILE_KB} KiB + RUN" [4]="RUN writing ${BIG_MB} MiB"
    [5]="2 stages, COPY --from" [6]="60 metadata instrs")
base=${tools[0]}
ver() {
    case $1 in
    builder | builder-raw) "$builder" --version 2>/dev/null | awk '{ print $NF }' ;;
    buildah) buildah --version | awk '{ print $3 }' ;;
    esac
}

echo
echo "Image builds (bench/builder/sN.Dockerfile on a busybox base), N=$N interleaved rounds per tool"
echo "$(uname -sr), $(nproc) CPUs; wall time of the build command in ms: median (p10–p90)"
line="tools:"
for t in "${tools[@]}"; do
    case $t in
    builder) line+=" builder $(ver builder) (gzip layers; RUN through $BERTH_RUNTIME);" ;;
    builder-raw) line+=" builder-raw (uncompressed layers);" ;;
    buildah) line+=" buildah $(ver buildah) (--layers, storage $driver, isolation $isolation, runc $("$runc" --version | awk 'NR == 1 { print $3 }'));" ;;
    esac
done
echo "${line%;}"
[[ -n $buildah_note ]] && echo "buildah here: ${buildah_note%; }"
echo
header="| scenario | build |" rule="|---|---|"
for t in "${tools[@]}"; do header+=" $t |" rule+="---|"; done
for t in "${tools[@]:1}"; do header+=" $t / $base |" rule+="---|"; done
echo "$header"
echo "$rule"
for s in "${scenarios[@]}"; do
    for v in "${variants[@]}"; do
        line="| $s. ${title[$s]} | $v |"
        for t in "${tools[@]}"; do line+=" $(cell "$work/t/$s-$t-$v") |"; done
        for t in "${tools[@]:1}"; do line+=" $(ratio "$work/t/$s-$t-$v" "$work/t/$s-$base-$v") |"; done
        echo "$line"
    done
done

# Cost above the command, layer throughput.
if ((${#bares[@]} > 0)); then
    extra=()
    for s in 1 4; do
        [[ " ${scenarios[*]} " == *" $s "* ]] || continue
        for t in "${tools[@]}"; do
            case $t in
            builder | builder-raw) r=run-berth rname="runtime run" ;;
            buildah) r=run-runc rname="runc run" ;;
            esac
            c=$work/t/$s-$t-cold b=$work/t/$s-$r-run
            if ! ok "$c" || ! ok "$b"; then continue; fi
            if [[ $s == 1 ]]; then
                extra+=("| 1. ${bare_cmd[1]} | $t | $(ms "$c" 0.5) | $rname $(cell "$b") | $(diffms "$c" "$b") ms above the command |")
            else
                # Less scenario 1's cost above its command, where measured.
                o=0
                if ok "$work/t/1-$t-cold" && ok "$work/t/1-$r-run"; then o=$(diffms "$work/t/1-$t-cold" "$work/t/1-$r-run"); fi
                tp=$(awk -v a="$(ms "$c" 0.5)" -v b="$(ms "$b" 0.5)" -v o="$o" -v mb="$BIG_MB" \
                    'BEGIN { d = a - b - o; if (d > 0) printf "%.0f MB/s", mb * 1.048576 * 1000 / d; else print "–" }')
                extra+=("| 4. dd ${BIG_MB} MiB | $t | $(ms "$c" 0.5) | $rname $(cell "$b") | $(diffms "$c" "$b") ms; layer write $tp |")
            fi
        done
    done
    if ((${#extra[@]} > 0)); then
        echo
        echo "Cost above the command: the cold build's median minus the median of the RUN's command run"
        echo "alone (\`runtime run\` / \`runc run\` of a bundle of the busybox image, then delete); in 4"
        echo "that is scenario 1's cost plus the layer write (${BIG_MB} MiB: diff, tar, compression, digest,"
        echo "store), whose throughput is ${BIG_MB} MiB over the difference less scenario 1's (when measured)"
        echo
        echo "| scenario | tool | cold build | command alone | difference |"
        echo "|---|---|---|---|---|"
        printf '%s\n' "${extra[@]}"
    fi
fi

status=0
if ((${#failed[@]} > 0)); then
    echo
    for f in "${failed[@]}"; do
        echo "failed: scenario ${f%%:*}, ${f#*:}:"
        tail -n 5 "$work/log/failed-${f%%:*}-${f#*:}" | sed 's/^/    /'
    done
    status=1
fi
if [[ -n $left ]]; then
    echo
    echo "leftovers after the last build:"
    head -n 10 <<<"$left" | sed 's/^/    /'
    status=1
fi
if ((status)); then exit 1; fi
