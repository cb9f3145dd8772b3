module mamba.go/common

go 1.26

require (
	github.com/nlpodyssey/gopickle v0.3.0
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/text v0.14.0 // indirect
)
