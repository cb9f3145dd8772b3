// Package load opens a model from whatever the user names: a mamba.c
// model.bin file today; checkpoint folders and HF repo ids join it when their
// loaders land.
package load

import (
	"errors"
	"fmt"
	"os"

	"mamba.go/common/model"
)

// ErrUnsupported is returned for a model in a format this build cannot read.
var ErrUnsupported = errors.New("unsupported model format")

// Open loads the model that path names.
func Open(path string) (*model.Weights, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("model %s: is a folder; checkpoint folders are not supported yet, pass a model.bin: %w", path, ErrUnsupported)
	}
	return model.LoadModelBin(path)
}
