module mamba.go/fused

go 1.26.0

require mamba.go/common v0.0.0

require github.com/stretchr/testify v1.12.1

require (
	github.com/nlpodyssey/gopickle v0.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace mamba.go/common => ../common
