# Reproducible clinical manuscripts.
#   make report               create .venv if needed, install, build every study
#   make report STUDY=ixazomib_ndmm
#   make test                 run the test suite
#   make bench                every speed figure (benchmarks/run_all.py)
# The per-study rules share no file (each stage writes its own staging folder and swaps it
# in), so `make -j2 report` builds the studies side by side.
# Targets are real files with real prerequisites: a second `make report` with nothing
# changed does nothing, and a template-only edit re-renders without re-running the analysis.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ENGINE ?= embedded

STUDIES := $(patsubst data/%/study.yaml,%,$(wildcard data/*/study.yaml))
STUDY   ?= $(STUDIES)
ENGINE_SRC   := $(filter-out analysis/templating.py analysis/lint.py analysis/render.py analysis/cli.py \
                  analysis/preview.py,\
                  $(wildcard analysis/*.py analysis/*/*.py))
RENDER_SRC   := analysis/templating.py analysis/lint.py analysis/render.py analysis/pipeline.py \
                analysis/provenance.py analysis/outputs.py $(wildcard analysis/tables/*.py) \
                analysis/formatting.py $(wildcard templates/_shared/*)

.PHONY: report test lint bench install clean help docs
.DEFAULT_GOAL := help

help:
	@echo "make report [STUDY=id] [ENGINE=embedded|quarto]   build manuscripts into report/"
	@echo "make test                                          run the tests"
	@echo "make lint                                          unbound-number lint and ruff"
	@echo "make docs                                          build the user guide into build/site/"
	@echo "make bench                                         every speed figure in one table (minutes)"
	@echo "make -j2 report                                    build the studies side by side"
	@echo "studies: $(STUDIES)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# an editable install compiles no bytecode (a wheel's does): compile it once, so a run
	@# where writing bytecode is off (PYTHONDONTWRITEBYTECODE) does not compile every module
	$(BIN)/python -m compileall -q analysis
	@touch $@

install: $(STAMP)

report: $(foreach s,$(STUDY),report/$(s)/manuscript.html)

# Stage 1: data + analysis code -> build/<study>/results.json (+ figures)
# Stage 2: results + templates  -> report/<study>/manuscript.{qmd,html,pdf,docx}
define study_rules
build/$(1)/results.json: $(STAMP) $(wildcard data/$(1)/*) $(ENGINE_SRC)
	$(BIN)/python -m analysis analyse $(1)

report/$(1)/manuscript.html: build/$(1)/results.json $(RENDER_SRC) $(wildcard templates/$(1)/*)
	$(BIN)/python -m analysis render $(1) --engine $(ENGINE)
endef
$(foreach s,$(STUDIES),$(eval $(call study_rules,$(s))))

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/python -m analysis lint
	$(BIN)/ruff check analysis tests

docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf build report
