# mamba.go — see README.md. Every target works on a fresh clone with Go installed.
GO      ?= go
BIN     := bin
PYTHON  ?= /usr/bin/python3
MODULES := common learning fused compare
SHARED  ?= ../shared

.PHONY: all build test vet compare testdata clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/mamba ./common/cmd/mamba
	$(GO) build -o $(BIN)/mamba-learning ./learning/cmd/mamba-learning
	$(GO) build -o $(BIN)/mamba-fused ./fused/cmd/mamba-fused

test:
	$(GO) test $(addprefix ./,$(addsuffix /...,$(MODULES)))

vet:
	$(GO) vet $(addprefix ./,$(addsuffix /...,$(MODULES)))
	@test -z "$$(gofmt -l $(MODULES))" || (gofmt -l $(MODULES); echo "gofmt needed"; exit 1)

clean:
	rm -rf $(BIN)
