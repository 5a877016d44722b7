# Berth: one command per job on a Debian 12 machine, as root.
#
#   make demo      install what is missing, build, run a busybox container, then
#                  build an image from a Dockerfile and run it through the runtime
#   make test      install what is missing, build, lint, every test
#   make bench     lifecycle, exec, peak RSS and 1000-container stress benchmarks
#                  against runc and crun; image builds against buildah; the shim
#                  against conmon (make bench-shim alone)
#   make portable  the suite (+ runc, crun for bench) packed in build/portable, to run
#                  on another host, a pure cgroup v2 one say: build/portable/run.sh
#   make install   runtime, builder, shim, berth-init into $(PREFIX)/bin
#
# Variables: PREFIX (/usr/local), DESTDIR, TEST_THREADS (2), N (bench runs, 50),
# RSS_N (bench/rss.sh runs, 20), STRESS_N (bench/stress.sh containers, 1000),
# BUILD_N (bench/builder.sh rounds, 5), SHIM_N (bench/shim.sh rounds, 10),
# BUNDLE (build/bundle), CARGO (cargo).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

# rustup's cargo, also when the caller's PATH lacks it (sudo, CI).
export PATH := $(HOME)/.cargo/bin:$(PATH)

CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=
TEST_THREADS ?= 2
BUNDLE ?= build/bundle
N ?= 50
export N
RSS_N ?= 20
STRESS_N ?= 1000
BUILD_N ?= 5
SHIM_N ?= 10

# The static checker is built for the host triple explicitly, so that
# RUSTFLAGS=+crt-static reaches it and not build scripts or proc macros.
# ($(shell) does not see exported variables in make 4.3: set PATH for it too.)
HOST_TRIPLE = $(shell PATH="$(HOME)/.cargo/bin:$$PATH" rustc -vV 2>/dev/null | sed -n 's/^host: //p')
RELEASE := target/release
# The runtime we ship, test and time is linked statically: a static binary
# starts ~0.4 ms sooner than a dynamic one.
RUNTIME_BIN := target/$(HOST_TRIPLE)/release/runtime
export BERTH_RUNTIME := $(abspath $(RUNTIME_BIN))
# `shim run --init` bind-mounts it into images without a libc: static too.
INIT_BIN := target/$(HOST_TRIPLE)/release/berth-init
export BERTH_INIT := $(abspath $(INIT_BIN))
BINARIES := runtime builder shim berth-init

# Debian packages, and why:
#   build-essential pkg-config libseccomp-dev  linking; seccomp (libseccomp crate)
#   libelf-dev zlib1g-dev                     libbpf (cgroup v2 device eBPF program)
#   busybox-static jq                         test and demo bundles (bench/mkbundle.sh)
#   runc crun                                 reference runtimes: bench, comparisons
#   podman conmon containernetworking-plugins spec-tests/integration/podman.sh
#   iproute2                                  spec-tests/tests/netdev.rs (veths in a test netns)
#   shellcheck                                lint of the shell scripts
#   criu                                      what runtime checkpoint/restore drive
#   time                                      /usr/bin/time: peak RSS (bench/rss.sh)
#   git tar gzip bzip2 xz-utils               builder: git contexts and ADD, archive tests
#   buildah skopeo umoci docker.io            builder interop tests; buildah for bench/builder.sh
#   ca-certificates curl                      rustup, when cargo is missing
DEB_PACKAGES := build-essential pkg-config libseccomp-dev libelf-dev zlib1g-dev busybox-static jq \
	runc crun podman conmon containernetworking-plugins iproute2 shellcheck criu time \
	git tar gzip bzip2 xz-utils buildah skopeo umoci docker.io \
	ca-certificates curl

SH_SCRIPTS := .ci/run bench/mkbundle.sh bench/demo-build.sh bench/lifecycle.sh bench/exec.sh \
	bench/common.sh bench/rss.sh bench/stress.sh bench/builder.sh bench/shim.sh \
	spec-tests/integration/podman.sh \
	spec-tests/portable.sh runtime/link/cc runtime/link/hot-list.sh

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# Steps depend on the order written (deps before build before tests); cargo
# parallelises inside each step.
.NOTPARALLEL:

.PHONY: all deps deb-deps rust-deps build bundle demo test lint fmt-check clippy \
	shellcheck cargo-test integration hot-list bench bench-rss bench-stress bench-builder bench-shim portable install uninstall clean

all: build

deps: deb-deps rust-deps

# Fast when everything is there: one dpkg-query, no apt.  apt-get update runs
# only when the package lists are missing or an install fails with stale lists.
deb-deps:
	@missing=$$({ dpkg-query -W -f='$${Package} $${db:Status-Status}\n' $(DEB_PACKAGES) 2>/dev/null || true; } \
		| awk '$$2 == "installed" { ok[$$1] = 1 } END { n = split("$(DEB_PACKAGES)", p, " "); \
			for (i = 1; i <= n; i++) if (!(p[i] in ok)) print p[i] }'); \
	if [ -z "$$missing" ]; then echo "deps: Debian packages present"; exit 0; fi; \
	echo "deps: installing" $$missing; \
	export DEBIAN_FRONTEND=noninteractive; \
	policy=/usr/sbin/policy-rc.d; \
	if [ ! -e $$policy ]; then \
		printf '#!/bin/sh\n# make deps: installed daemons (dockerd, containerd) stay stopped\nexit 101\n' \
			| $(SUDO) tee $$policy >/dev/null; $(SUDO) chmod 755 $$policy; \
		trap '$(SUDO) rm -f '"$$policy" EXIT; \
	fi; \
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then $(SUDO) apt-get update -q; fi; \
	if ! $(SUDO) apt-get install -y -q $$missing; then \
		$(SUDO) apt-get update -q; \
		$(SUDO) apt-get install -y -q $$missing; \
	fi

# Debian's cargo is too old for this workspace (rust-version in Cargo.toml):
# use rustup's, installing it when there is none.
rust-deps: deb-deps
	@if ! command -v $(CARGO) >/dev/null; then \
		echo "deps: no cargo; installing rustup's stable toolchain into ~/.cargo"; \
		curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
			| sh -s -- -y --profile minimal --component rustfmt,clippy; \
	fi
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@echo "deps: $$($(CARGO) --version)"

# libseccomp-sys links dynamically unless told otherwise: the static runtime
# takes Debian's libseccomp.a (libseccomp-dev).
LIBSECCOMP_LIB_DIR = $(shell pkg-config --variable=libdir libseccomp 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)

# runtime/link/cc links them with the functions of runtime/link/hot.txt first
# in .text (what a run executes, packed: fewer pages mapped per process); v0
# mangling keeps generic arguments in the symbol names it matches.  Not a
# static-pie (relocation-model=static): a static-pie relocates itself at every
# start, writing 47 pages of .data.rel.ro (~0.1 ms of page faults a run, and
# 192 KB of its peak RSS); a fixed load address is what Debian's runc ships
# too, and the heap, stack and mmaps stay randomised.
STATIC_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static \
	-C symbol-mangling-version=v0 \
	-C linker=$(abspath runtime/link/cc)
STATIC_BUILD = RUSTFLAGS='$(STATIC_RUSTFLAGS)' \
	LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH='$(LIBSECCOMP_LIB_DIR)' \
	$(CARGO) build --release --target $(HOST_TRIPLE)

build:
	$(CARGO) build --release --workspace
	$(STATIC_BUILD) -p runtime -p spec-tests -p berth-init \
		--bin runtime --bin checker --bin berth-init

# Rewrites runtime/link/hot.txt from traces of the runtime's common paths
# (needs root; a few minutes).  Run it when the code on those paths changed
# much: a stale list only costs memory.
hot-list: deps
	CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=target/hot-list \
		$(STATIC_BUILD) -p runtime --bin runtime
	runtime/link/hot-list.sh target/hot-list/$(HOST_TRIPLE)/release/runtime

# An OCI bundle with a busybox-static rootfs; ARGS for process.args.
bundle: build
	rm -rf $(BUNDLE)
	bench/mkbundle.sh $(BUNDLE) $(ARGS)

demo: deps build
	rm -rf build/demo
	bench/mkbundle.sh build/demo
	@$(RUNTIME_BIN) delete --force berth-demo >/dev/null 2>&1 || true
	@echo "+ $(RUNTIME_BIN) run --bundle build/demo berth-demo"
	@$(RUNTIME_BIN) run --bundle build/demo berth-demo
	BUILDER=$(RELEASE)/builder RUNTIME=$(RUNTIME_BIN) bench/demo-build.sh build/demo-build

test: deps build lint cargo-test integration

lint: fmt-check clippy shellcheck

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

shellcheck:
	@if command -v shellcheck >/dev/null; then \
		shellcheck -x $(SH_SCRIPTS) && echo "shellcheck: clean"; \
	else echo "shellcheck: not installed, skipped"; fi

cargo-test: build
	$(CARGO) test --workspace --release -- --test-threads=$(TEST_THREADS)

integration: build
	RUNTIME=$(BERTH_RUNTIME) spec-tests/integration/podman.sh

# Both lifecycle profiles (plain, then memory + pids limits + the default
# seccomp profile), exec into a running container, then peak RSS per runtime
# process, STRESS_N containers at 1, 4 and 16 at once (fails on leftovers), and
# image builds against buildah, BUILD_N rounds.
bench: build
	PROFILE=plain bench/lifecycle.sh
	PROFILE=limits bench/lifecycle.sh
	bench/exec.sh
	N=$(RSS_N) bench/rss.sh
	N=$(STRESS_N) bench/stress.sh
	N=$(BUILD_N) bench/builder.sh
	N=$(SHIM_N) bench/shim.sh

bench-rss: build
	N=$(RSS_N) bench/rss.sh

bench-shim: build
	N=$(SHIM_N) bench/shim.sh

bench-stress: build
	N=$(STRESS_N) bench/stress.sh

# SCENARIOS, TOOLS and the rest: see bench/builder.sh.
bench-builder: build
	N=$(BUILD_N) bench/builder.sh

portable: build
	PEERS=1 spec-tests/portable.sh build/portable

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(RUNTIME_BIN) $(INIT_BIN) $(addprefix $(RELEASE)/,builder shim) \
		$(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(BINARIES))

clean:
	$(CARGO) clean
	rm -rf build
