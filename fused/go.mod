module mamba.go/fused

go 1.26

require (
	gonum.org/v1/gonum v0.17.0
	mamba.go/common v0.0.0
	mamba.go/learning v0.0.0
)

require github.com/stretchr/testify v1.12.1

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace (
	mamba.go/common => ../common
	mamba.go/learning => ../learning
)
