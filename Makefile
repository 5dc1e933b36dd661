# bedboard — the README's commands.  Each sets itself up from nothing on a
# fresh Debian or Raspberry Pi OS machine: system packages when missing, then
# a .venv with bedboard installed in it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BOARD  ?= nrs

.PHONY: all setup test system bench chaos demo wheelhouse clean

all: test

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml scripts/system-deps
	@scripts/system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps 'luma.emulator >= 1.7'
	@touch $(STAMP)

# Four test files at a time (pytest-xdist, a file's tests together: some share
# one booted machine or broker in order).  Most of the suite's time is waiting
# on real brokers, heartbeats and a booted system, not the CPU: measured on two
# cores with other work running, 13.5 minutes one file at a time, 6 this way.
test: $(STAMP)
	@scripts/system-deps
	$(BIN)/python -m pytest -n 4 --dist loadfile

# The appliance booted (as root): docs/install.md's commands run in a Debian
# bookworm root booted by systemd-nspawn (tests/test_system.py; the root is
# cached in ~/.cache/bedboard). make test boots it on amd64; make system adds
# a kiosk's read-only root and the whole of it on arm64 (a Pi's architecture)
# under qemu-user-static, which is slow — its times are printed.
system: $(STAMP)
	@scripts/system-deps --system
	BEDBOARD_SYSTEM=full $(BIN)/python -m pytest -p no:cacheprovider -s \
		tests/test_wheel.py tests/test_system.py tests/test_system_arm64.py

# The truth state machines (the board against its oracle and against the world's
# ground truth, the agent against the contract's rules) with many more examples
# than make test gives them, and the truth audit under chaos for
# BEDBOARD_CHAOS_SECONDS (default 240) with six real agents, a real board and a
# broker that keeps dying (its figures printed).
chaos: $(STAMP)
	@scripts/system-deps
	BEDBOARD_CHAOS=1 $(BIN)/python -m pytest -p no:cacheprovider --timeout=0 \
		$(wildcard tests/test_display_truth.py tests/test_world_truth.py tests/test_world_hunts.py \
		  tests/test_agent_truth.py) \
		tests/test_chaos.py

# Speed and memory, end to end, and instructions counted by valgrind's callgrind
# with their Raspberry Pi 4/5 projections (about 45 minutes, two thirds of it
# callgrind): BENCHMARKS.md and bench.json.  One part alone, e.g. the counts:
# .venv/bin/python -m benchmarks instructions --out /tmp/b.md --json /tmp/b.json
bench: $(STAMP)
	@scripts/system-deps --bench
	$(BIN)/python -m benchmarks

demo: $(STAMP)
	@scripts/system-deps
	$(BIN)/python -m demo --board $(BOARD)

# What docs/install.md copies to each device: bedboard's wheel and every wheel
# it needs for ARCH (aarch64: a Pi on 64-bit Raspberry Pi OS; x86_64), in
# dist/wheelhouse-ARCH/ — installed there with no network.
ARCH ?= $(shell uname -m)
wheelhouse: $(STAMP)
	$(BIN)/python scripts/wheelhouse --arch $(ARCH)

clean:
	rm -rf $(VENV) .demo .pytest_cache .hypothesis *.egg-info dist build
