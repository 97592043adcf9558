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
DEB_PACKAGES := gcc libc6-dev pkg-config procps curl \
	libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev \
	libavdevice-dev libswresample-dev clang libclang-dev ffmpeg tstools

.PHONY: all deps build demo test fmt clippy check-cargo

all: build

check-cargo:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found: install the Rust toolchain (rustup) first" >&2; exit 1; }

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
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

# Serves on 127.0.0.1:8080 with its data in ./data (the demo county is loaded on first start).
demo: build
	./target/release/headend serve --data ./data --listen 127.0.0.1:8080

test: deps check-cargo
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
