module mamba.go/learning

go 1.26.0

require mamba.go/common v0.0.0

require github.com/stretchr/testify v1.12.1 // indirect

replace mamba.go/common => ../common
