module mamba.go/compare

go 1.26.0

require mamba.go/common v0.0.0

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

require (
	github.com/stretchr/testify v1.12.1
	mamba.go/fused v0.0.0
	mamba.go/learning v0.0.0
)

replace mamba.go/common => ../common

replace mamba.go/fused => ../fused

replace mamba.go/learning => ../learning
