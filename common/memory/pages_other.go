//go:build !linux

package memory

// THPOn: transparent huge pages are Linux's.
func THPOn() bool { return false }

// NewArena: n bytes from Go and no mapping, where 2 MB pages cannot be
// asked for.
func NewArena(n int, huge bool) (mem []byte, arena Arena, advised bool) {
	return make([]byte, n), nil, false
}

// Arena is the mapping behind NewArena's memory: none here.
type Arena []byte

// Close closes nothing: the memory is Go's.
func (Arena) Close() error { return nil }

// DropFilePages: elsewhere than Linux the pages stay; the kernel reclaims
// clean file pages under memory pressure all the same.
func DropFilePages(b []byte) {}

// PopulateRead and PopulateWrite do nothing here: the pages fault in one
// by one as they are touched.
func PopulateRead(b []byte)  {}
func PopulateWrite(b []byte) {}
