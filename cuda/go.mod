module mamba.go/cuda

go 1.26

require (
	github.com/stretchr/testify v1.12.1
	mamba.go/common v0.0.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace mamba.go/common => ../common
