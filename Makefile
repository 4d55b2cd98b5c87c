# The commands README.md gives. PYTHON selects the environment; by default a
# project virtualenv in .venv that `make install` creates. WHEELHOUSE=DIR
# installs from that folder of wheels alone; `make wheelhouse DIR=...` fills
# one on a machine with a package index (tools/make_wheelhouse.sh: options).
PYTHON ?= .venv/bin/python

.PHONY: install wheelhouse demo demo-seg demo-cls test bench

install:
	PYTHON=$(PYTHON) WHEELHOUSE=$(WHEELHOUSE) bash tools/install.sh

wheelhouse:
	bash tools/make_wheelhouse.sh "$(DIR)"

# tools/demo.sh: data, training, evaluation, then pictures under
# work_dirs/<demo config>/pictures.
demo: install
	PYTHON=$(PYTHON) bash tools/demo.sh det

demo-seg: install
	PYTHON=$(PYTHON) bash tools/demo.sh seg

# Classification from scratch on the single-shape demo set, then the
# pretrain -> detect path: its BoTNet backbone fine-tuned in Mask R-CNN.
demo-cls: install
	PYTHON=$(PYTHON) bash tools/demo.sh cls

test: install
	$(PYTHON) -m pytest tests

bench: install
	$(PYTHON) tools/analysis/benchmark_blocks.py
