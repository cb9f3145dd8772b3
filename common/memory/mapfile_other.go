//go:build !unix

package memory

import (
	"fmt"
	"io"

	"mamba.go/common/internal/safefile"
)

// MapFile reads path whole where memory maps are not available.
func MapFile(path string) ([]byte, interface{ Close() error }, error) {
	data, err := safefile.ReadFile(path, 1<<40)
	if err != nil {
		return nil, nil, err
	}
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("file is empty")
	}
	return data, io.NopCloser(nil), nil
}

// InMappedFile is false where files are read whole, never mapped.
func InMappedFile(addr uintptr) bool { return false }
