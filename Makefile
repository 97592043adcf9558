# GovChannel: `make demo` runs the headend with the demo county; `make test` runs every check.
# Both first install the Debian packages that are missing (apt-get; sudo when not root).

SHELL := /bin/bash
CARGO ?= cargo

# Debian packages the build, the tests and the demo need.
#   gcc, libc6-dev: C compiler for the bundled SQLite
#   procps: `kill` for the whole-system tests' graceful shutdown
#   curl: the demo's readiness check
#   libav*-dev, clang, libclang-dev: FFmpeg 5.1 for playout (ffmpeg-next builds its bindings with bindgen)
#   ffmpeg (ffprobe), tstools (tsreport): the playout tests validate streams with independent tools
#   xvfb: the set-top-box client's development window is tested on a real X server
#   gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user: the client cross-built for
#     an ARM box and run under emulation (when rustup can add the target)
#   chromium, chromium-driver: the staff pages are tested in a real headless browser
#   xmltv-util (tv_validate_file): the programme guide is validated by an independent tool
DEB_PACKAGES := gcc libc6-dev pkg-config procps curl \
	libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev \
	libavdevice-dev libswresample-dev clang libclang-dev ffmpeg tstools xvfb \
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user chromium chromium-driver xmltv-util

.PHONY: all deps bench-deps build demo test bench frames check-cargo cross-check

# Extra packages only the benchmarks need (Chromium, the renderer's and the client's peer,
# is already in DEB_PACKAGES): the set-top-box API is compared with nginx under wrk,
# whole-process figures are taken with GNU time.
BENCH_PACKAGES := wrk nginx-light time

all: build

check-cargo:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found: install the Rust toolchain (rustup) first" >&2; exit 1; }

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"

bench-deps: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BENCH_PACKAGES)"

.PHONY: install-packages
install-packages:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  echo "installing missing Debian packages:$$missing"; \
	  $$sudo apt-get update && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps check-cargo
	$(CARGO) build --release -p headend

# Serves on 127.0.0.1:8080 with its data in ./data (the demo county is loaded on first start);
# the county channel airs to udp://127.0.0.1:5000 and as HLS, every town channel as HLS.
demo: build
	./target/release/headend serve --config assets/demo/headend.toml

# A first build (no target/debug yet) gains nothing from incremental compilation's caches
# and pays to write them: off for it (later runs keep cargo's default).
ifeq ($(wildcard target/debug),)
test: export CARGO_INCREMENTAL ?= 0
endif
# Every test target of the workspace (one integration test binary per crate: integration,
# client, proptest, e2e), built once; the whole-system tests (e2e) wait on servers and real
# time more than they compute, so three run at once on two cores (66–70 s instead of 88 s).
test: deps check-cargo
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace --no-run
	$(CARGO) test --workspace --lib --bins --test integration --test client --test proptest
	$(CARGO) test --workspace --doc
	$(CARGO) test --workspace --test e2e -- --test-threads 3
	@$(MAKE) --no-print-directory cross-check

# The set-top-box client for an aarch64 box (no window feature), built with Debian's cross
# linker and run under qemu-user: a scripted session on the built-in screen, screenshot
# written. Skipped with a note where rustup cannot add the target (no network to its
# servers); the README says how to build for a box.
AARCH64 := aarch64-unknown-linux-gnu
cross-check: check-cargo
	@if rustup target list --installed 2>/dev/null | grep -qx '$(AARCH64)' || rustup target add $(AARCH64); then \
	  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	    $(CARGO) build -p stb-client --no-default-features --target $(AARCH64) --profile cross && \
	  d=$$(mktemp -d) && \
	  qemu-aarch64 -L /usr/aarch64-linux-gnu target/$(AARCH64)/cross/stb-client \
	    --display headless --server "$$d/none" --cache "$$d/cache" --keys "1 OK MENU" \
	    --screenshot "$$d/shot.png" 2>/dev/null && \
	  test -s "$$d/shot.png" && rm -rf "$$d" && \
	  echo "cross-check: stb-client for $(AARCH64) built and ran under qemu-aarch64"; \
	else \
	  echo "cross-check: skipped: rustup cannot add $(AARCH64) here"; \
	fi

# The README's frames of the channel as it airs (docs/frames/*.png).
frames: build
	docs/frames.sh ./target/release/headend

# Every benchmark BENCHMARKS.md records (release build; run on an otherwise idle machine).
bench: bench-deps check-cargo
	$(CARGO) bench -p headend --bench render
	$(CARGO) bench -p headend --bench playout
	ulimit -n "$$(ulimit -Hn)" && $(CARGO) bench -p headend --bench stb
	$(CARGO) bench -p headend --bench ingest_scale
	$(CARGO) bench -p headend --bench preview_burst
	$(CARGO) build --release -p headend -p stb-client
	$(CARGO) bench -p e2e --bench client
