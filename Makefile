# Two commands set everything up on a fresh machine:
#   make demo   installs rl2 into .venv, meta-trains a small RL² agent on bandits and compares it
#               with the classic baselines on held-out tasks
#   make test   installs rl2 with its test tools and the MuJoCo, Meta-World and Atari extras into
#               .venv and runs the default test suite (those families' tests run where their extras are
#               installed)
VENV ?= .venv
PY := $(VENV)/bin/python
# The suite runs in one pytest worker per core (pytest-xdist), at most 4: most of its time is
# single-threaded (CLI subprocesses starting Python and torch, one-thread training), so 2 workers
# on 2 cores take between half and three quarters of the time of one (docs/benchmarks.md#test-suite).
PARALLEL := -n logical --maxprocesses 4

.PHONY: demo test test-slow bench install clean

install:
	VENV=$(VENV) ./scripts/install.sh

demo: install
	$(VENV)/bin/rl2 train --run-dir runs/demo --overwrite

test:
	VENV=$(VENV) EXTRAS=test,mujoco,metaworld,atari ./scripts/install.sh
	$(PY) -m pytest -q $(PARALLEL)

test-slow:
	VENV=$(VENV) EXTRAS=test,mujoco,metaworld,atari ./scripts/install.sh
	$(PY) -m pytest -q -m slow $(PARALLEL)

bench:
	VENV=$(VENV) EXTRAS=bench ./scripts/install.sh
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) runs
