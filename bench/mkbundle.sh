#!/usr/bin/env bash
# Make an OCI bundle whose rootfs is Debian's busybox-static.
#
#   bench/mkbundle.sh [--rootfs-only] DIR [ARG...]
#
# DIR/rootfs gets /bin/busybox, one symlink per applet (`busybox --list`), and the
# few directories and files a container expects.  Unless --rootfs-only is given,
# DIR/config.json comes from `runtime spec` (our binary; `runc spec` if ours is
# missing or fails) with process.args set to ARG... (default: a greeting) and
# process.terminal false, so the bundle runs without a console.
#
# Environment: RUNTIME (default: target/release/runtime next to this script's
# repository), BUSYBOX (default: /bin/busybox, must be static).
set -euo pipefail

usage() { echo "usage: $0 [--rootfs-only] DIR [ARG...]" >&2; exit 2; }

rootfs_only=false
if [[ ${1:-} == --rootfs-only ]]; then rootfs_only=true; shift; fi
[[ $# -ge 1 ]] || usage
dir=$1; shift

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runtime=${RUNTIME:-$repo/target/release/runtime}
busybox=${BUSYBOX:-/bin/busybox}

if ! [[ -x $busybox ]]; then
    echo "mkbundle: $busybox not found (apt-get install busybox-static)" >&2
    exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
    echo "mkbundle: $busybox is dynamically linked; install busybox-static" >&2
    exit 1
fi

rootfs=$dir/rootfs
mkdir -p "$rootfs"/{bin,dev,etc,proc,sys,tmp,root,run,var/tmp}
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] && continue
    ln -sf busybox "$rootfs/bin/$applet"
done
# sbin/usr paths some clients put in PATH or call directly.
mkdir -p "$rootfs/usr"
ln -sfn ../bin "$rootfs/usr/bin"
ln -sfn bin "$rootfs/sbin"
ln -sfn ../bin "$rootfs/usr/sbin"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
: >"$rootfs/etc/hostname"
: >"$rootfs/etc/hosts"
: >"$rootfs/etc/resolv.conf"

$rootfs_only && exit 0

if ! command -v jq >/dev/null; then
    echo "mkbundle: jq not found (apt-get install jq)" >&2
    exit 1
fi

if [[ $# -eq 0 ]]; then
    # shellcheck disable=SC2016  # expanded by the container's shell
    set -- /bin/sh -c 'echo "Hello from a Berth container: hostname $(hostname), pid $$, uid $(id -u)"; echo rootfs: $(ls /)'
fi

rm -f "$dir/config.json"
spec_from=""
if [[ -x $runtime ]] && "$runtime" spec --bundle "$dir" 2>/dev/null && [[ -s $dir/config.json ]]; then
    spec_from=$runtime
else
    rm -f "$dir/config.json"
    runc=$(command -v runc || true)
    if [[ -z $runc ]]; then
        echo "mkbundle: neither $runtime nor runc can write config.json" >&2
        exit 1
    fi
    "$runc" spec --bundle "$dir"
    spec_from=$runc
fi

# jq parses options even after --args (an argument "-c" would be taken as
# --compact), so pass each argument with --arg, which takes its value verbatim.
jqargs=() names=()
i=0
for a in "$@"; do
    jqargs+=(--arg "a$i" "$a")
    names+=("\$a$i")
    i=$((i + 1))
done
list=$(IFS=,; echo "${names[*]}")
tmp=$dir/config.json.tmp
jq "${jqargs[@]}" ".process.args = [$list] | .process.terminal = false" \
    "$dir/config.json" >"$tmp"
mv "$tmp" "$dir/config.json"
echo "mkbundle: bundle $dir (config.json from $spec_from spec)" >&2
