# Two entry points: `make book` and `make test`. Both create ./.venv and install into it.
# torch is installed first, pinned to the CPU build that this project's machines carry;
# override with e.g. `make test TORCH=torch` on a machine where you want another build.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PROFILE ?= book
RETRAIN ?= 0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.i2v-installed

.PHONY: book test test-fast install zoo records verify-records contact-sheet benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# RETRAIN=1 trains every model the chapters use instead of loading the zoo's.
book: $(STAMP)
	I2V_RETRAIN=$(RETRAIN) $(PY) book/build.py --profile $(PROFILE)

# The tests run on WORKERS processes (pytest-xdist; the project's machines have two cores), one torch thread each;
# --dist loadgroup keeps the tests that share a module's fixture on one worker (tests/conftest.py groups them), and
# work that several modules need (the smoke book, a smoke run) is made once per run. Every test's seconds are written
# to _build/test_durations.json. `make test` runs every test; `make test-fast` leaves out those marked slow (the book,
# the notebooks, trainings: a developer's loop of a few minutes).
WORKERS ?= 2
PYTEST := OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(WORKERS) --dist loadgroup --durations-json _build/test_durations.json

test: $(STAMP)
	$(PYTEST) tests notebooks/quickstart.ipynb --nbval --nbval-current-env

test-fast: $(STAMP)
	$(PYTEST) -m "not slow" tests

# Retrain every zoo model from scratch (resumable: run it again to continue), score and export it.
zoo: $(STAMP)
	$(PY) -m i2vlib.records.make_zoo

# Train and measure the ablation chapters' seeded arms and the Baselines chapter's comparison tables on their budget
# ladder (comparisons.LADDER: 5 seeds at the budget, 3 at four times it) and record the measurements in
# i2vlib/records/recorded/ (many hours, one queue of one-thread runs per core; what is recorded is kept, so run it
# again to continue). Part of it:
# python -m i2vlib.records.ablations PAPER --rungs 4 --arms ARM...; what is recorded so far: ... --list.
records: $(STAMP)
	$(PY) -m i2vlib.records.ablations

# Train one recorded run of each comparison at each rung again and check each new measurement against the arm's
# other recorded seeds (a 95 % band); the report is committed and shown in the Convergence chapter
# (i2vlib/records/verify.py; hours on a CPU, not part of CI).
verify-records: $(STAMP)
	$(PY) -m i2vlib.records.verify --out i2vlib/records/verify_report.json

contact-sheet: $(STAMP)
	$(VENV)/bin/i2v contact-sheet book/_static/contact_sheet.png --size 96
	$(PY) -c "from PIL import Image; from i2vlib.data.pose_benchmark import PoseBenchmark; from i2vlib.render import pose_contact_sheet; s = pose_contact_sheet(PoseBenchmark(64)); Image.fromarray(s).resize((2 * s.shape[1], 2 * s.shape[0]), Image.NEAREST).save('book/_static/pose_contact_sheet.png')"

benchmarks: $(STAMP)
	$(PY) benchmarks/synthetic_fps.py --out benchmarks/results/synthetic_fps.json
	$(PY) benchmarks/pose_render.py --out benchmarks/results/pose_render.json
	$(PY) benchmarks/speed.py --method affinegan --out benchmarks/results/affinegan_speed.json
	$(PY) benchmarks/speed.py --method fan --out benchmarks/results/fan_speed.json
	$(PY) benchmarks/speed.py --method frgan --slider-sizes 64 128 --out benchmarks/results/frgan_speed.json

clean:
	rm -rf _build
