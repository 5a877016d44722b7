#!/usr/bin/env bash
# Pack the spec-tests suite to run on another x86-64 Linux host (a pure cgroup v2 one, say)
# that has no Rust toolchain: the static runtime and checker, the compiled test binaries,
# busybox, podman's seccomp profile and a runner.
#
#   spec-tests/portable.sh DIR            # after `make build`
#   PEERS=1 spec-tests/portable.sh DIR    # also Debian's runc, crun, jq + their libraries,
#                                         # for bench/lifecycle.sh there
# On the other host, as root:
#   DIR/run.sh                            # every test file; TESTS="cgroups verbs" for some
#   DIR/bench.sh                          # (PEERS=1) both lifecycle profiles and exec, N=100
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
static=$repo/target/x86_64-unknown-linux-gnu/release
for f in runtime checker; do
    [[ -x $static/$f ]] || { echo "portable: $static/$f missing (make build)" >&2; exit 1; }
done

rm -rf "$dir"
mkdir -p "$dir/t"
cp "$static/runtime" "$static/checker" /bin/busybox /usr/share/containers/seccomp.json "$dir/"
# Test binaries link only glibc: they run on any newer glibc.
cd "$repo"
cargo test -p spec-tests --release --no-run --message-format=json 2>/dev/null |
    jq -r 'select(.reason == "compiler-artifact" and .profile.test == true) | .executable' |
    sort -u | grep -v -e '/checker-' -e '/spec_tests-' |
    while read -r exe; do
        cp "$exe" "$dir/t/$(basename "$exe" | sed 's/-[0-9a-f]*$//')"
    done
strip "$dir"/t/*

cat >"$dir/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs the packed spec-tests here; prints the host's cgroup layout first.
d=$(cd "$(dirname "$0")" && pwd)
uname -sr; grep cgroup /proc/self/mountinfo | cut -d' ' -f5,9-
cp "$d/busybox" /bin/busybox
mkdir -p /usr/share/containers
[[ -e /usr/share/containers/seccomp.json ]] || cp "$d/seccomp.json" /usr/share/containers/
export BERTH_RUNTIME=$d/runtime BERTH_CHECKER=$d/checker
pass=0 fail=0
for t in ${TESTS:-$(ls "$d/t")}; do
    echo "== $t"
    if (cd "$d" && timeout 300 "t/$t"); then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "== test files passed: $pass, failed: $fail"
((fail == 0))
EOF
chmod +x "$dir/run.sh"

if [[ ${PEERS:-0} == 1 ]]; then
    mkdir -p "$dir/peers" "$dir/lib" "$dir/bench"
    cp bench/lifecycle.sh bench/exec.sh bench/stress.sh bench/common.sh bench/mkbundle.sh \
        bench/seccomp-oci.py "$dir/bench/"
    cp "$(command -v runc)" "$(command -v crun)" "$(command -v jq)" "$dir/peers/"
    for b in "$dir"/peers/*; do
        ldd "$b" | awk '/=> \// { print $3 }' | grep -v -e '/libc\.so' -e '/libm\.so' |
            xargs -r -I{} cp -L {} "$dir/lib/"
    done
    cat >"$dir/bench.sh" <<'EOF'
#!/usr/bin/env bash
# bench/lifecycle.sh here: the packed runtime against the packed runc and crun.
d=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH=$d/lib PATH=$d/peers:$PATH RUNTIME=$d/runtime
cp "$d/busybox" /bin/busybox
mkdir -p /usr/share/containers
[[ -e /usr/share/containers/seccomp.json ]] || cp "$d/seccomp.json" /usr/share/containers/
export RUNTIMES="berth=$d/runtime berth-ro=$d/runtime runc=$d/peers/runc crun=$d/peers/crun"
for p in ${PROFILES:-plain limits}; do
    N=${N:-100} PROFILE=$p "$d/bench/lifecycle.sh"
done
N=${N:-100} "$d/bench/exec.sh"
# 1000 containers at P=1/4/16 (P=16 is what the 16-CPU v2 host is for).
N=${STRESS_N:-1000} "$d/bench/stress.sh"
EOF
    chmod +x "$dir/bench.sh"
fi
du -sh "$dir"
