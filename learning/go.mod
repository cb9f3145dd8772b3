module mamba.go/learning

go 1.26
