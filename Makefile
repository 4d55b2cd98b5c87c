# The commands README.md gives. PYTHON selects the environment; by default a
# project virtualenv in .venv that `make install` creates. WHEELHOUSE=DIR
# installs from that folder of wheels alone; `make wheelhouse DIR=...` fills
# one on a machine with a package index (tools/make_wheelhouse.sh: options).
PYTHON ?= .venv/bin/python
DEMO_DATA ?= data/demo
DEMO_CFG ?= configs/demo/mask_rcnn_gc_r50_fpn_demo.py
DEMO_WORK ?= work_dirs/mask_rcnn_gc_r50_fpn_demo

.PHONY: install wheelhouse demo test bench

install:
	PYTHON=$(PYTHON) WHEELHOUSE=$(WHEELHOUSE) bash tools/install.sh

wheelhouse:
	bash tools/make_wheelhouse.sh "$(DIR)"

demo: install
	$(PYTHON) tools/make_demo_data.py --out $(DEMO_DATA)
	$(PYTHON) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_WORK)
	$(PYTHON) tools/test.py $(DEMO_CFG) $$(cat $(DEMO_WORK)/last_checkpoint)

test: install
	$(PYTHON) -m pytest tests

bench: install
	$(PYTHON) tools/analysis/benchmark_blocks.py
