#!/usr/bin/env bash
# Writes runtime/link/hot.txt, the functions runtime/link/cc places first in
# the binary's .text: every function the runtime executes on its common
# paths, in the order they first run.
#
#   runtime/link/hot-list.sh BINARY     # `make hot-list` builds BINARY
#
# BINARY is the static runtime built with its symbols (strip = false).  Each
# scenario below runs under runtime/link/trace.c, which single-steps every
# process running BINARY (the runtime, its re-exec, the container's init up
# to its execve) and prints each instruction's offset the first time it
# runs; the offsets map to the functions holding them (nm), first run first.
# The scenarios: `run` of /bin/true with runc's default config; the same
# with a memory and a pids limit and podman's default seccomp profile (its
# compiled program cached, as from the second container on); and
# run -d, state, exec, list, kill and delete of one container.
# Needs root, gcc, jq, python3, busybox-static.  Takes a few minutes: each
# instruction is a ptrace stop.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:?usage: $0 BINARY (the static runtime with symbols)}
bin=$(realpath "$bin")
out=$repo/runtime/link/hot.txt
[[ $(nm "$bin" 2>/dev/null | grep -c ' T main$') -gt 0 ]] ||
    { echo "hot-list: $bin has no symbols (build it with strip = false)" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-hot.XXXXXX)
root=$work/root
cleanup() {
    local id
    for id in $("$bin" --root "$root" list -q 2>/dev/null); do
        "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

gcc -O2 -o "$work/trace" "$repo/runtime/link/trace.c"
size=$(stat -c %s "$bin")
offsets=$work/offsets
# A scenario that fails under the tracer (rarely: a slowed-down create has
# lost its init) is traced again; only complete traces count.
trace() {
    local try
    for try in 1 2 3; do
        rm -f "$offsets.one"
        if "$work/trace" "$offsets.one" "$(basename "$bin")" "$size" -- "$bin" --root "$root" "$@"; then
            cat "$offsets.one" >>"$offsets"
            return
        fi
        echo "hot-list: '$*' failed under the tracer (try $try)" >&2
        "$bin" --root "$root" delete --force "${@: -1}" >/dev/null 2>&1 || true
    done
    exit 1
}

RUNTIME=$bin "$repo/bench/mkbundle.sh" "$work/plain" /bin/true >/dev/null 2>&1
RUNTIME=$bin "$repo/bench/mkbundle.sh" "$work/limits" /bin/true >/dev/null 2>&1
RUNTIME=$bin "$repo/bench/mkbundle.sh" "$work/sleep" sleep 3600 >/dev/null 2>&1
seccomp=/usr/share/containers/seccomp.json
if [[ -r $seccomp ]]; then
    caps=$(jq -r '.process.capabilities.bounding[]' "$work/limits/config.json")
    # shellcheck disable=SC2086  # one argument per capability
    "$repo/bench/seccomp-oci.py" "$seccomp" $caps >"$work/seccomp.json"
    jq --slurpfile sc "$work/seccomp.json" \
        '.linux.resources.memory = {limit: 268435456} | .linux.resources.pids = {limit: 1024}
         | .linux.seccomp = $sc[0]' "$work/limits/config.json" >"$work/limits/config.tmp"
    mv "$work/limits/config.tmp" "$work/limits/config.json"
else
    echo "hot-list: no $seccomp (containers-common): the seccomp path is left out" >&2
fi

id=hot-$$
# The compiled seccomp program is cached per profile under --root: trace the
# usual case, a profile seen before (compiling it is minutes of single steps).
"$bin" --root "$root" run --bundle "$work/limits" "$id-warm" >/dev/null
trace run --bundle "$work/plain" "$id-plain"
trace run --bundle "$work/limits" "$id-limits"
trace run -d --bundle "$work/sleep" "$id"
trace state "$id" >/dev/null
trace exec "$id" true
trace list >/dev/null
trace kill "$id" KILL
trace delete --force "$id"

python3 - "$bin" "$offsets" "$out" <<'EOF'
import bisect, re, subprocess, sys

binary, offsets, out = sys.argv[1:]
funcs = []
for line in subprocess.run(["nm", "-n", "-S", "--defined-only", binary],
                           capture_output=True, text=True, check=True).stdout.splitlines():
    f = line.split()
    if len(f) == 4 and f[2] in "tTwW":
        funcs.append((int(f[0], 16), int(f[1], 16), f[3]))
    elif len(f) == 3 and f[1] in "tTwW":
        # No size: assembly without .size (crtbegin's frame_dummy and
        # register_tm_clones, which every start runs); it ends where the
        # next symbol begins.
        funcs.append((int(f[0], 16), None, f[2]))
funcs = [(a, s if s is not None else (funcs[i + 1][0] - a if i + 1 < len(funcs) else 0), n)
         for i, (a, s, n) in enumerate(funcs)]
starts = [f[0] for f in funcs]
# The tracer's offsets are from the load base, where the first PT_LOAD (file
# offset 0) lies: nm's addresses are those offsets plus its vaddr (0 in a PIE).
vaddr = next(int(l.split()[2], 16) for l in subprocess.run(
    ["readelf", "-lW", binary], capture_output=True, text=True, check=True
).stdout.splitlines() if l.split()[:1] == ["LOAD"])
order, seen = [], set()
for line in open(offsets):
    off = int(line, 16) + vaddr
    k = bisect.bisect_right(starts, off) - 1
    if k >= 0 and off < funcs[k][0] + funcs[k][1] and k not in seen:
        seen.add(k)
        order.append(funcs[k][2])
names = subprocess.run(["c++filt"], input="\n".join(order), capture_output=True,
                       text=True, check=True).stdout.splitlines()
hot, done = [], set()
for n in names:
    # What runtime/link/cc matches: no crate disambiguators, no legacy hash.
    n = re.sub(r"::h[0-9a-f]{16}$", "", re.sub(r"\[[0-9a-f]+\]", "", n))
    if n not in done:
        done.add(n)
        hot.append(n)
size = sum(funcs[k][1] for k in seen)
with open(out, "w") as f:
    f.write("# Written by runtime/link/hot-list.sh (make hot-list); read by runtime/link/cc.\n")
    f.write(f"# {len(hot)} functions, {size // 1024} KB of code, first run first.\n")
    f.write("\n".join(hot) + "\n")
print(f"hot-list: {out}: {len(hot)} functions, {size // 1024} KB of code")
EOF
