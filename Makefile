# The README's commands. Every target installs what it needs on a fresh Debian machine.
#   make all    — run the lab (`invoke all`, default profile)
#   make test   — run the test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_GET := $(shell command -v apt-get 2>/dev/null)
PROFILE ?=

.PHONY: setup toolchains all smoke test doctor clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { [ -n "$(APT_GET)" ] && apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Each language's toolchain, installed from Debian's packages when missing and apt-get is available: the
# packages are those the missing variants' `install: "apt-get install -y PKG"` lines name in langs/*/lang.yaml
# (`invoke doctor --apt-packages`), so a new language folder needs no change here; perf is the lab's own.
# C# is Mono here (mono-mcs); a .NET SDK, if present, runs as a second variant (langs/csharp/lang.yaml). Rust is
# Debian's rustc (1.63 in bookworm; langs/rust builds with it, no cargo or crates needed).
# Free-threaded CPython 3.13t is built once per machine from Debian's source package (langs/python/README.md).
toolchains: $(STAMP)
	@need=($$($(BIN)/invoke doctor --apt-packages --backend local)); \
	command -v perf >/dev/null || need+=(linux-perf); \
	if [ $${#need[@]} -gt 0 ]; then \
	  if [ -n "$(APT_GET)" ]; then \
	    echo "installing toolchains: $${need[*]}"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $${need[@]} \
	      || echo "warning: could not install $${need[*]}; those languages will be skipped (see invoke doctor)"; \
	  else echo "warning: missing $${need[*]} and no apt-get; see invoke doctor for install hints"; fi; \
	fi
	@bash langs/python/toolchains/build-free-threaded.sh \
	  || echo "warning: free-threaded CPython not built; that Python variant will be skipped (see invoke doctor)"

all: setup toolchains
	$(BIN)/invoke all $(if $(PROFILE),--profile $(PROFILE))

smoke: setup toolchains
	$(BIN)/invoke all --profile smoke

doctor: setup
	$(BIN)/invoke doctor

test: setup toolchains
	$(BIN)/python -m pytest

clean:
	rm -rf build .pytest_cache
