# sluice — the two commands a new user needs:
#   make demo    installs missing Debian packages (as root), builds, runs the city demo
#   make test    installs, builds, runs the whole test suite
# Everything else is meson + ninja in ./build.

BUILD ?= build

.PHONY: all deps build test demo bench deb clean help

all: build

help:
	@echo "make deps    install missing Debian 12 packages (as root)"
	@echo "make build   configure and build into ./$(BUILD)"
	@echo "make test    build and run every test suite"
	@echo "make demo    build and run the city demo"
	@echo "make bench   build (release) and run the benchmarks"
	@echo "make deb     build the Debian package sluice_*.deb into ./build-deb"
	@echo "make clean   remove ./$(BUILD)"

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: build
	scripts/run-tests.sh $(BUILD)

demo: build
	examples/demo.sh $(BUILD)

# Release build for the figures (same warnings-as-errors as every build).
bench: deps
	@[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Dtests=false
	ninja -C build-release
	bench/run.sh build-release

# The Debian package (debian/, debhelper + meson) from the tracked files.
deb: deps
	scripts/build-deb.sh build-deb

clean:
	rm -rf $(BUILD) build-deb
