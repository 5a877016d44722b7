#!/usr/bin/env bash
# The builder's demo: a busybox base image made FROM scratch, then a small
# web-page image built on it with a Dockerfile (the docker books' first
# build), listed, its history shown, unpacked as an OCI bundle and run
# through the runtime.
#
#   bench/demo-build.sh DIR      # DIR holds the context, the store, the bundle
#
# Environment: BUILDER, RUNTIME (default: the workspace's release builds),
# BUSYBOX (passed to bench/mkbundle.sh: default /bin/busybox, static).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builder=${BUILDER:-$repo/target/release/builder}
runtime=${RUNTIME:-$repo/target/release/runtime}
store=$dir/store

rm -rf "$dir"
mkdir -p "$dir/base/rootfs" "$dir/web"
"$repo/bench/mkbundle.sh" --rootfs-only "$dir/base/staging" >/dev/null
cp -a "$dir/base/staging/rootfs/." "$dir/base/rootfs/"
rm -rf "$dir/base/staging"
cat >"$dir/base/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
CMD ["sh"]
DOCKERFILE

cat >"$dir/web/index.html" <<'HTML'
<h1>Hello from a Berth image</h1>
HTML
cat >"$dir/web/Dockerfile" <<'DOCKERFILE'
FROM busybox
MAINTAINER Berth demo
ENV GREETING="built by berth's builder, run by berth's runtime"
WORKDIR /srv
COPY index.html .
RUN echo "built for $(uname -m)" > build-info
EXPOSE 80
CMD ["sh", "-c", "cat /srv/index.html /srv/build-info; echo \"$GREETING\""]
DOCKERFILE

run() { echo "+ $*"; "$@"; }
run "$builder" --root "$store" build -t busybox "$dir/base"
run "$builder" --root "$store" build -t demo/static_web:v1 "$dir/web"
run "$builder" --root "$store" images
run "$builder" --root "$store" history demo/static_web:v1
run "$builder" --root "$store" unpack demo/static_web:v1 "$dir/bundle"
"$runtime" delete --force berth-demo-image >/dev/null 2>&1 || true
run "$runtime" run --bundle "$dir/bundle" berth-demo-image
