# Two entry points: `make book` and `make test`. Both create ./.venv and install into it (`make install` does only
# that): the library with everything the book and its tests need, and JupyterLab to open the notebooks
# (`.venv/bin/jupyter lab notebooks/quickstart.ipynb`).
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
	$(PY) -m pip install --quiet -e ".[test,lab]"
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

# Train and measure the comparison tables' seeded arms on their budget ladder (protocol.tables.ROUNDS; the round of
# record by default, --round to choose) and record the measurements in i2vlib/records/recorded/ (many hours). The
# jobs run on submitit (i2vlib/records/engine.py): one one-thread process per core here, longest first, printing
# done / running / left and the time left; a failed job is retried (--retries) and named at the end (exit 1). What is
# recorded is kept and runs resume from their checkpoints, so run it again to continue. On a SLURM cluster:
# python -m i2vlib.records.ablations --engine slurm --partition P --time MINUTES --cpus N. On a GPU (the jobs in
# flight share it; each record names it): ... --device cuda --workers N. Part of it:
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
