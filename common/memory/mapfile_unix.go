//go:build unix

package memory

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

// FileMapped: b lies wholly in the mapping.
func (m *mapping) FileMapped(b []byte) bool {
	if len(b) == 0 || len(m.data) == 0 {
		return false
	}
	lo, p := uintptr(unsafe.Pointer(&m.data[0])), uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(m.data))
}

// live are the mappings MapFile made that are not closed yet, for
// InMappedFile and DropFilePages.
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

// inOneMapping: b lies wholly in one live MapFile mapping.
func inOneMapping(b []byte) bool {
	live.Lock()
	defer live.Unlock()
	for m := range live.maps {
		if m.FileMapped(b) {
			return true
		}
	}
	return false
}

// MapFile maps path read-only; the returned bytes stay valid until Close.
// What closes them also has FileMapped(b []byte) bool: b lies wholly in
// the mapping.
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
