module mamba.go/common

go 1.26
