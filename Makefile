# Two commands work on a fresh machine with nothing but Python 3.10+:
#   make demo   sets everything up and runs the main job end to end
#   make test   sets everything up and runs the test suite
# `make setup` installs every extra (`.[all,dev]`); `make check-core` proves that a plain
# `pip install .` (no extras) runs the core commands; `make lint` runs ruff and mypy.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_CPU ?= 2.13.0
RUNS ?= runs
# a fresh venv for the core-only check, under the git-ignored build/
CORE_VENV ?= build/core-venv

.PHONY: setup sandbox-tools demo test test-slow lint check-core bench clean

setup: $(VENV)/.installed sandbox-tools

# bubblewrap isolates untrusted tournament submissions (docs/tournament.md). Installed with apt
# where we are root on Debian/Ubuntu; elsewhere a note says what is missing (tests then skip).
sandbox-tools:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null 2>&1; }; }; } || \
	  echo "note: bubblewrap (bwrap) is not installed, so submissions cannot be isolated here (apt-get install bubblewrap)"

# torch first: the exact CPU wheel where it is available, so that the plain `torch` requirement
# of the extras is already met and pip never resolves a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==$(TORCH_CPU)" || $(PY) -m pip install --quiet "torch>=2.3"
	$(PY) -m pip install --quiet -e ".[all,dev]"
	touch $@

demo: setup
	$(PY) -m palaestra envs
	$(PY) -m palaestra solve kelly
	$(PY) -m palaestra evaluate kelly --agent optimal --agent capped-kelly --agent kelly --episodes 10000
	$(PY) -m palaestra train kelly --algo ppo --timesteps 300000 --out $(RUNS)/demo-ppo --force
	$(PY) -m palaestra evaluate kelly --agent $(RUNS)/demo-ppo --episodes 10000
	$(PY) -m palaestra bomber play --agent simple --agent random --agent random --agent random --games 20
	rm -f $(RUNS)/demo.sqlite*
	$(PY) -m palaestra tournament --db $(RUNS)/demo.sqlite submit examples/bots/walker.py --name walker --env bomber
	@# the walker ships with palaestra: where no jail can be built here, it runs trusted (said so)
	$(PY) -m palaestra tournament --db $(RUNS)/demo.sqlite run --env bomber --name demo --agent walker --agent simple --agent random --agent static --rounds 2 --seed 0 $$($(PY) -c "from palaestra.agents.sandbox.isolation import isolation_problem as p; import sys; q = p(); q and print('no jail here (' + q + '): the demo runs its own walker trusted', file=sys.stderr); print('--trust-submissions' if q else '')")
	$(PY) -m palaestra tournament --db $(RUNS)/demo.sqlite leaderboard --name demo --plots $(RUNS)/demo-plots --json $(RUNS)/demo-plots/table.json
	$(PY) -c "import json; print(json.load(open('$(RUNS)/demo-plots/table.json'))['matches'][0]['match_id'])" > $(RUNS)/demo-match.txt
	$(PY) -m palaestra tournament --db $(RUNS)/demo.sqlite replay --name demo --match $$(cat $(RUNS)/demo-match.txt) --out $(RUNS)/demo-match.json.gz
	$(PY) -m palaestra replay export $(RUNS)/demo-match.json.gz --gif $(RUNS)/demo-match.gif
	$(PY) -m palaestra league train --env bomber --population 2 --iterations 8 --steps-per-iteration 2000 --minibatch-size 500 --snapshot-every 4 --pbt-interval 4 --eval-every 4 --eval-games 4 --num-boards 8 --out $(RUNS)/demo-league --force
	$(PY) -m palaestra league table --out $(RUNS)/demo-league --plots $(RUNS)/demo-league/plots
	@# the shipped league learner in one seat (rotated) against three SimpleAgents
	$(PY) -m palaestra bomber versus --agent league --opponent simple --games 100 --seed 0
	@# the shipped team learner on one side (rotated) against a pair of SimpleAgents, 2v2
	$(PY) -m palaestra bomber versus --mode team --agent league-team --opponent simple --games 100 --seed 0
	@# a short hide-and-seek league (hiders h0 against seekers s0) and one of its games as a GIF
	$(PY) -m palaestra league train --env hide-and-seek --population 1 --iterations 4 --steps-per-iteration 1200 --minibatch-size 300 --snapshot-every 2 --eval-every 0 --out $(RUNS)/demo-hns --force
	$(PY) -m palaestra league replay --out $(RUNS)/demo-hns --member h0 --to $(RUNS)/demo-hns/h0.json.gz --force
	$(PY) -m palaestra replay export $(RUNS)/demo-hns/h0.json.gz --gif $(RUNS)/demo-hns/h0.gif

test: setup
	$(PY) -m pytest -q -n 2 --durations=15

test-slow: setup
	$(PY) -m pytest -q -m slow

lint: setup
	$(PY) -m ruff check src tests scripts
	$(PY) -m mypy

# A core-only install from scratch: no torch, Ray, SB3 or pygame. build/lib is removed first so
# that the wheel holds only what src/ holds now.
check-core:
	rm -rf $(CORE_VENV) build/lib build/bdist.*
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet .
	$(CORE_VENV)/bin/python scripts/check_core.py

# PLAYGROUND=path/to/playground PLAYGROUND_PYTHON=python-with-old-gym adds the original Pommerman's
# figures side by side (see scripts/bench/playground_bench.py for setting that interpreter up).
PLAYGROUND ?=
PLAYGROUND_PYTHON ?= $(PY)

bench: setup
	$(PY) scripts/bench/kelly.py
	$(PY) scripts/bench/es.py
	$(PY) scripts/bench/prefs.py
	$(PY) scripts/bench/sandbox.py
	$(PY) scripts/bench/bots.py
	$(PY) scripts/bench/league.py
	$(PY) scripts/bench/bomber.py $(if $(PLAYGROUND),--playground $(PLAYGROUND) --playground-python $(PLAYGROUND_PYTHON))

clean:
	rm -rf $(VENV) $(RUNS) .pytest_cache build
