//go:build unix

package model

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"mamba.go/common/internal/safefile"
)

// mapping is a read-only memory map of a whole file.
type mapping struct{ data []byte }

func (m *mapping) Close() error {
	if m.data == nil {
		return nil
	}
	live.Lock()
	delete(live.maps, m)
	live.Unlock()
	err := syscall.Munmap(m.data)
	m.data = nil
	return err
}

// live are the mappings MapFile made that are not closed yet, for
// InMappedFile.
var live struct {
	sync.Mutex
	maps map[*mapping]bool
}

// InMappedFile reports whether addr lies in a file mapped by MapFile and
// not yet closed: a memory fault there is the file truncated or rewritten
// under the running program, not a bug.
func InMappedFile(addr uintptr) bool {
	live.Lock()
	defer live.Unlock()
	for m := range live.maps {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
		if addr >= lo && addr < lo+uintptr(len(m.data)) {
			return true
		}
	}
	return false
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
	m := &mapping{data}
	live.Lock()
	if live.maps == nil {
		live.maps = map[*mapping]bool{}
	}
	live.maps[m] = true
	live.Unlock()
	return data, m, nil
}
