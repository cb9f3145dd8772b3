//go:build unix

package model

import (
	"fmt"
	"syscall"

	"mamba.go/common/internal/safefile"
)

// mapping is a read-only memory map of a whole file.
type mapping struct{ data []byte }

func (m *mapping) Close() error {
	if m.data == nil {
		return nil
	}
	err := syscall.Munmap(m.data)
	m.data = nil
	return err
}

// MapFile maps path read-only; the returned bytes stay valid until Close.
func MapFile(path string) ([]byte, interface{ Close() error }, error) {
	f, st, err := safefile.Open(path) // a named pipe or a device is refused before it can block
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	size := st.Size()
	if size == 0 {
		return nil, nil, fmt.Errorf("file is empty")
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("file of %d bytes is too large to map", size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return data, &mapping{data}, nil
}
