#!/usr/bin/env bash
# Peak memory of `RUNTIME run` of /bin/true in a busybox bundle: the peak RSS
# (VmHWM, what `/usr/bin/time -v` calls "Maximum resident set size") of each
# process the runtime spawns, for our runtime against runc and crun.
#
#   bench/rss.sh                       # N=20 runs per runtime and method
#   RUNTIMES="berth=target/release/runtime crun=/usr/bin/crun" N=50 bench/rss.sh
#
# What is measured, two ways, in separate runs:
#
# 1. `time -v`: `/usr/bin/time -f %M RUNTIME run ...`, the figure the issue
#    quotes.  That is ru_maxrss of the child that time waits for, which the
#    kernel takes as the maximum over (a) every memory image the process had:
#    time's own forked child before it execs the runtime (~0.6 MB), the
#    runtime, and a re-exec of itself, and (b) every descendant it reaped,
#    recursively, each again over all its images: the container's init both
#    before it execs the user program (a copy of the runtime) and as the user
#    program.  So it is one number, the largest single image in the tree,
#    never a sum.  The container's program is part of it: busybox-static's
#    /bin/true alone peaks at ~1.4 MB (fault-around maps 64 KB of a 2 MB static
#    binary per page fault), a floor under every runtime's figure.
# 2. `per process`: the same run under a ptrace tracer (below), which reads
#    /proc/TID/status VmHWM of every traced process at each execve() entry
#    (the old image's peak, just before it goes) and at exit, so each image
#    gets its own figure: the runtime as started, its re-exec, the init (and
#    runc's nsexec stages) before it execs the container's program, helpers,
#    and the container's program itself (told apart by its inode: the bundle's
#    busybox).  vfork children that share their parent's memory until they
#    exec are not counted twice; the tracer's own fork before the runtime's
#    exec is not counted.  "largest runtime process" is the maximum over the
#    runtime's images, the container's program left out: the runtime's own
#    peak.  Tracing slows the runs, not their memory; the largest image agrees
#    with `time -v` within a few percent (time's reads a little lower,
#    probably as ru_maxrss reads the kernel's per-CPU RSS counters unsummed).
#
# VmHWM counts every resident page mapped, file-backed ones too: the pages of
# the runtime's binary (and of a dynamic runtime's libraries) that the page
# cache shares between all processes running it count in full in each.  The
# breakdown table shows RssAnon at each image's end as well: private memory
# that a second container really costs again.
#
# Runs are interleaved like lifecycle.sh's: each round runs every runtime once
# per method, in an order that rotates from round to round, fresh container ids,
# each runtime its own --root, `delete --force` after each run (untimed).  Two
# untimed warm-up runs per runtime first.  Medians in KB and MB (1 MB = 1024 KB).
#
# Like lifecycle.sh (bench/common.sh): a private mount namespace (without
# /sys/fs/cgroup/unified on hybrid hosts, which crun 1.8 refuses), berth-ro
# (BERTH_RO=0 leaves it out), RUNTIMES to choose.  Needs root, /usr/bin/time
# (Debian's `time`) and python3 (the tracer).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=rss
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_private_ns "$@"

N=${N:-20}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "rss: N must be a positive integer (got '$N')" >&2; exit 2; }
for tool in /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "rss: $tool not found (apt-get install time python3)" >&2; exit 1; }
done
bench_runtimes
n=${#names[@]}
work=$(mktemp -d /tmp/berth-rss.XXXXXX)
bench_ro_copy "$work"
cleanup() {
    local i id
    for ((i = 0; i < n; i++)); do
        for id in $("${paths[i]}" --root "$work/root-$i" list -q 2>/dev/null); do
            "${paths[i]}" --root "$work/root-$i" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    bench_unified_cleanup /sys/fs/cgroup/unified/rss-"$$"-* /sys/fs/cgroup/unified/rss-probe-"$$"
    bench_ro_cleanup "$work"
    rm -rf "$work"
}
trap cleanup EXIT

"$repo/bench/mkbundle.sh" "$work/bundle" /bin/true 2>/dev/null
busybox=$work/bundle/rootfs/bin/busybox

# The tracer: trace.py OUT BUSYBOX -- CMD...  runs CMD under ptrace (every
# fork, vfork, clone, exec and exit, and execve entries), exits with CMD's
# status, and writes one line per memory image to OUT, in order of creation:
# "KIND<TAB>LABEL<TAB>VmHWM_KB<TAB>RssAnon_KB", KIND runtime or container.
# LABEL is the image's comm at its end and how it began: exec (the first
# image of a process), re-exec (a later one), fork (a copy of its parent: the
# init before it execs the container's program, runc's nsexec stages).
cat >"$work/trace.py" <<'EOF'
import ctypes, os, signal, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.syscall.restype = ctypes.c_long
TRACEME, SYSCALL, SETOPTIONS, GETEVENTMSG, GET_SYSCALL_INFO = 0, 24, 0x4200, 0x4201, 0x420E
# TRACESYSGOOD TRACEFORK TRACEVFORK TRACECLONE TRACEEXEC TRACEEXIT EXITKILL
OPTIONS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x40 | 0x100000
EV_FORK, EV_VFORK, EV_CLONE, EV_EXEC, EV_EXIT = 1, 2, 3, 4, 6
SYS_EXECVE, SYS_EXECVEAT, SYS_KCMP, KCMP_VM = 59, 322, 312, 1
WALL = 0x40000000

out, busybox, argv = sys.argv[1], os.stat(sys.argv[2]), sys.argv[4:]
images = []   # dicts: kind, how, comm, hwm, anon, shared
cur = {}      # tgid -> its current image (index)
tgid = {}     # tid -> tgid, for every tid we trace
pending = set()  # new tracees whose initial SIGSTOP is still to come
early = set()    # new tracees that stopped before their creator's event


def status(tid):
    fields = {}
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
    except OSError:
        pass
    return fields


def sample(tid):
    """Peak so far of the image tid runs (monotonic, so the last read wins)."""
    g = tgid.get(tid, tid)
    st = status(tid)
    if g in cur and "VmHWM" in st:
        im = images[cur[g]]
        im["hwm"] = max(im["hwm"], int(st["VmHWM"].split()[0]))
        im["anon"] = int(st.get("RssAnon", "0 kB").split()[0])
        im["comm"] = st.get("Name", "?")


def new_image(g, kind, how, shared=False):
    cur[g] = len(images)
    images.append(dict(kind=kind, how=how, comm="?", hwm=0, anon=0, shared=shared))
    sample(g)


def exec_image(g):
    try:
        st = os.stat(f"/proc/{g}/exe")
        ours = (st.st_dev, st.st_ino) == (busybox.st_dev, busybox.st_ino)
    except OSError:
        ours = False
    had = g in cur and not images[cur[g]]["shared"]
    new_image(g, "container" if ours else "runtime", "re-exec" if had else "exec")


def born(parent, child):
    pg = tgid.get(parent, parent)
    if status(child).get("Tgid", str(child)) != str(child):
        tgid[child] = pg  # a thread: same image as its group
        return
    tgid[child] = child
    shared = libc.syscall(SYS_KCMP, ctypes.c_long(parent), ctypes.c_long(child),
                          ctypes.c_long(KCMP_VM), ctypes.c_long(0), ctypes.c_long(0)) == 0
    kind = images[cur[pg]]["kind"] if pg in cur else "runtime"
    new_image(child, kind, "fork", shared)


def resume(tid, sig=0):
    libc.ptrace(SYSCALL, tid, None, ctypes.c_void_p(sig))


def eventmsg(tid):
    m = ctypes.c_ulong()
    libc.ptrace(GETEVENTMSG, tid, None, ctypes.byref(m))
    return m.value


root = os.fork()
if root == 0:
    libc.ptrace(TRACEME, 0, None, None)
    os.execvp(argv[0], argv)
os.waitpid(root, WALL)  # stopped after its exec
libc.ptrace(SETOPTIONS, root, None, ctypes.c_void_p(OPTIONS))
tgid[root] = root
exec_image(root)
resume(root)
code, info = 1, ctypes.create_string_buffer(88)
while True:
    try:
        tid, s = os.waitpid(-1, WALL)
    except ChildProcessError:
        break
    if os.WIFEXITED(s) or os.WIFSIGNALED(s):
        if tid == root:
            code = os.WEXITSTATUS(s) if os.WIFEXITED(s) else 128 + os.WTERMSIG(s)
        tgid.pop(tid, None)
        continue
    if not os.WIFSTOPPED(s):
        continue
    sig, ev = os.WSTOPSIG(s), s >> 16
    if tid not in tgid:
        early.add(tid)  # resumed once its creator's event registers it
        continue
    if tid in pending:
        pending.discard(tid)
        if sig == signal.SIGSTOP and ev == 0:
            resume(tid)
            continue
    if sig == signal.SIGTRAP | 0x80:
        # struct ptrace_syscall_info: op (1: entry) at 0, nr at 24.
        if libc.ptrace(GET_SYSCALL_INFO, tid, ctypes.c_void_p(88), info) > 0 and info.raw[0] == 1:
            if int.from_bytes(info.raw[24:32], "little") in (SYS_EXECVE, SYS_EXECVEAT):
                sample(tid)
        resume(tid)
    elif sig == signal.SIGTRAP and ev in (EV_FORK, EV_VFORK, EV_CLONE):
        child = eventmsg(tid)
        born(tid, child)
        if child in early:
            early.discard(child)
            resume(child)
        else:
            pending.add(child)
        resume(tid)
    elif sig == signal.SIGTRAP and ev == EV_EXEC:
        former = eventmsg(tid)  # a non-leader thread that exec'd takes the leader's tid
        if former != tid:
            tgid.pop(former, None)
        tgid[tid] = tid
        exec_image(tid)
        resume(tid)
    elif sig == signal.SIGTRAP and ev == EV_EXIT:
        sample(tid)
        resume(tid)
    elif ev != 0:
        resume(tid)
    else:
        resume(tid, sig)  # a signal for the tracee: deliver it
with open(out, "w") as f:
    for im in images:
        if not im["shared"]:
            how = "the container's program" if im["kind"] == "container" else im["how"]
            f.write(f"{im['kind']}\t{im['comm']} ({how})\t{im['hwm']}\t{im['anon']}\n")
sys.exit(code)
EOF

# A runtime that exits 0 without running anything would look very small:
# check once that each one really runs a container (under the tracer too).
"$repo/bench/mkbundle.sh" "$work/probe" /bin/echo berth-bench-probe 2>/dev/null
for ((i = 0; i < n; i++)); do
    mkdir -p "$work/root-$i"
    out=$(python3 "$work/trace.py" "$work/img" "$busybox" -- "${paths[i]}" --root "$work/root-$i" \
        run --bundle "$work/probe" "rss-probe-$$" </dev/null 2>"$work/stderr") || true
    "${paths[i]}" --root "$work/root-$i" delete --force "rss-probe-$$" >/dev/null 2>&1 || true
    if [[ $out != berth-bench-probe ]]; then
        echo "rss: ${names[i]} did not run the probe container (output '$out'):" >&2
        sed 's/^/    | /' "$work/stderr" >&2
        exit 1
    fi
    : >"$work/timev-$i"
    : >"$work/largest-$i"
    : >"$work/program-$i"
    : >"$work/images-$i"
done

seq_no=0
# once I METHOD RECORD: one `run` of runtime I, METHOD timev or trace; RECORD
# 1 to keep its figures.
once() {
    local i=$1 method=$2 record=$3 id root rc=0
    seq_no=$((seq_no + 1))
    id=rss-$$-$i-$seq_no
    root=$work/root-$i
    if [[ $method == timev ]]; then
        /usr/bin/time -o "$work/tv" -f %M "${paths[i]}" --root "$root" run --bundle "$work/bundle" "$id" \
            </dev/null >/dev/null 2>"$work/stderr" || rc=$?
    else
        python3 "$work/trace.py" "$work/img" "$busybox" -- "${paths[i]}" --root "$root" run \
            --bundle "$work/bundle" "$id" </dev/null >/dev/null 2>"$work/stderr" || rc=$?
    fi
    "${paths[i]}" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    if ((rc != 0)); then
        echo "rss: ${names[i]} run ($method) failed (exit $rc):" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    ((record)) || return 0
    if [[ $method == timev ]]; then
        tail -n1 "$work/tv" >>"$work/timev-$i"
        return 0
    fi
    # Largest runtime image (with its label), the container program's peak, and
    # each image as LABEL#K (K-th image of that label in this run).
    awk -F'\t' -v L="$work/largest-$i" -v P="$work/program-$i" -v I="$work/images-$i" '
        $1 == "runtime" && $3 > max { max = $3; who = $2 }
        $1 == "container" { prog = $3 }
        { k = ++seen[$2]; printf "%d\t%s#%d\t%s\t%s\t%s\n", NR, $2, k, $1, $3, $4 >>I }
        END { printf "%s\t%s\n", max, who >>L; print prog + 0 >>P }' "$work/img"
}

echo "rss: $n runtime(s): ${names[*]}; 2 warm-up + $N runs each with time -v and traced, interleaved" >&2
for ((w = 0; w < 2; w++)); do
    for ((i = 0; i < n; i++)); do once "$i" timev 0; once "$i" trace 0; done
done
for ((round = 0; round < N; round++)); do
    for ((k = 0; k < n; k++)); do
        i=$(((round + k) % n))
        once "$i" timev 1
        once "$i" trace 1
    done
done

# med FILE [COLUMN]: median (nearest rank, lower middle) of a column of KB values.
med() {
    cut -f"${2:-1}" "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

base_largest=$(med "$work/largest-0")
echo
echo "Peak RSS of \`run\` of /bin/true in a busybox bundle, N=$N per runtime and method; medians"
echo "$(uname -sr), $(nproc) CPUs; KB (MB = 1024 KB)"
echo
echo "| runtime | version | time -v (whole run) | largest runtime process | which | container's /bin/true | largest vs ${names[0]} |"
echo "|---|---|---|---|---|---|---|"
for ((i = 0; i < n; i++)); do
    ver=$("${paths[i]}" --version 2>/dev/null | head -n1 | awk '{ print $NF }') || ver="?"
    tv=$(med "$work/timev-$i")
    largest=$(med "$work/largest-$i")
    # The label most often largest.
    who=$(cut -f2 "$work/largest-$i" | sort | uniq -c | sort -rn | awk 'NR == 1 { $1 = ""; print substr($0, 2) }')
    prog=$(med "$work/program-$i")
    echo "| ${names[i]} | ${ver:-?} | $tv ($(mb "$tv") MB) | $largest ($(mb "$largest") MB) | $who |" \
        "$prog ($(mb "$prog") MB) | $(awk -v a="$largest" -v b="$base_largest" 'BEGIN { printf "%.2fx", a / b }') |"
done
echo
echo "Per process (traced runs): each memory image in order of creation; peak (VmHWM) and"
echo "anonymous memory at its end (RssAnon), medians in KB"
echo
echo "| runtime | image | peak | anon at end | runs |"
echo "|---|---|---|---|---|"
for ((i = 0; i < n; i++)); do
    # Group by label (sorted by peak within), ordered by the earliest position in a run.
    sort -t$'\t' -k2,2 -k4,4n "$work/images-$i" | awk -F'\t' -v name="${names[i]}" '
        function flush() {
            if (cnt == 0) return
            shown = lab; sub(/#1$/, "", shown)
            printf "%06d\t| %s | %s | %s | %s | %s |\n", first, name, shown,
                hw[int((cnt + 1) / 2)], an_med(), cnt
        }
        function an_med(   j, t, m) {  # insertion sort of the anon values
            for (j = 1; j <= cnt; j++) a2[j] = an[j]
            for (j = 2; j <= cnt; j++) { t = a2[j]; for (m = j - 1; m >= 1 && a2[m] > t; m--) a2[m + 1] = a2[m]; a2[m + 1] = t }
            return a2[int((cnt + 1) / 2)]
        }
        $2 != lab { flush(); lab = $2; cnt = 0; first = $1 }
        { cnt++; hw[cnt] = $4; an[cnt] = $5; if ($1 < first) first = $1 }
        END { flush() }' | sort -n | cut -f2-
done
