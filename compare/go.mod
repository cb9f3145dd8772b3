module mamba.go/compare

go 1.26
