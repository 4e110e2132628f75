# 外呼宝 Waihubao — the two commands: `make run` and `make test`.
VENV   := .venv
BIN    := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint chromium bench-smoke

$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The demo signs a 90-day team licence with a key made on this machine and trusted only here.
run: export WAIHUBAO_LICENCE_TRUSTED_KEYS ?= $(CURDIR)/var/demo-trusted-keys.txt
run: $(BIN)/.installed
	$(BIN)/waihubao migrate
	$(BIN)/waihubao demo
	$(BIN)/waihubao serve --simulated-box

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# The SQLite and PostgreSQL runs go side by side: each has its own database, files and ports, and both wait
# on servers, browsers and sockets more than on the CPU. The SQLite run's output follows when both are done.
test: $(BIN)/.installed chromium lint
	@$(BIN)/pytest -q -p no:cacheprovider > $(VENV)/sqlite-tests.log 2>&1 & lite=$$!; \
	trap 'kill $$lite 2>/dev/null' INT TERM; \
	echo "== PostgreSQL (the tests marked db), with the SQLite run beside it"; \
	WAIHUBAO_TEST_DB=postgres WAIHUBAO_TEST_PG_URL=$(PG_URL) $(BIN)/pytest -q -m db; pg=$$?; \
	wait $$lite; lite=$$?; echo "== SQLite (every test)"; cat $(VENV)/sqlite-tests.log; \
	[ $$pg -eq 0 ] && [ $$lite -eq 0 ]
	$(MAKE) bench-smoke

bench-smoke: $(BIN)/.installed
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b --size smoke || exit 1; done
