# mamba.go — see README.md. Every target works on a fresh clone with Go installed.
GO      ?= go
BIN     := bin
PYTHON  ?= /usr/bin/python3
MODULES := common learning compare
SHARED  ?= ../shared

.PHONY: all build test vet compare testdata clean tokenizer-testdata bench-tokenizer

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/mamba ./common/cmd/mamba

test:
	$(GO) test $(addprefix ./,$(addsuffix /...,$(MODULES)))

vet:
	$(GO) vet $(addprefix ./,$(addsuffix /...,$(MODULES)))
	@test -z "$$(gofmt -l $(MODULES))" || (gofmt -l $(MODULES); echo "gofmt needed"; exit 1)

# The tokenizer's own test files and benchmark, against HF tokenizers (npm, Rust).
HF_NPM := .cache/npm/node_modules/tokenizers
$(HF_NPM):
	npm install --prefix .cache/npm --no-audit --no-fund tokenizers@0.23.2
tokenizer-testdata: $(HF_NPM)
	node common/tokenizer/testdata/make.js && node common/tokenizer/testdata/unicode.js
bench-tokenizer: $(HF_NPM)
	sh common/tokenizer/bench/bench.sh

clean:
	rm -rf $(BIN)
