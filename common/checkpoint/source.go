package checkpoint

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"sync"

	"mamba.go/common/internal/safefile"
	"mamba.go/common/memory"
	"mamba.go/common/model"
)

// source is one open checkpoint file. It is read with ReadAt when
// exporting (so that nothing but the tensor in flight is in memory) and
// memory-mapped on first use when loading weights (so that F32 tensors are
// zero-copy views).
type source struct {
	path string
	f    *os.File
	size int64

	mu    sync.Mutex
	data  []byte
	unmap interface{ Close() error }
}

func openSource(path string) (*source, error) {
	f, st, err := safefile.Open(path) // a named pipe or a device is refused before it can block
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &source{path: path, f: f, size: st.Size()}, nil
}

// fileMapped reports whether b lies in the file's mapping.
func (s *source) fileMapped(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	fm, ok := s.unmap.(model.FileMaps)
	return ok && fm.FileMapped(b)
}

// mapped maps the whole file, once.
func (s *source) mapped() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		data, c, err := memory.MapFile(s.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		if int64(len(data)) != s.size {
			c.Close()
			return nil, fmt.Errorf("%s: changed size while open", s.path)
		}
		s.data, s.unmap = data, c
	}
	return s.data, nil
}

func (s *source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.unmap != nil {
		err = s.unmap.Close()
		s.unmap, s.data = nil, nil
	}
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
		s.f = nil
	}
	return err
}

// tensor is one tensor of a checkpoint: its name, type, shape and where its
// bytes lie (always contiguous, row-major).
type tensor struct {
	name  string
	dtype DType
	shape []int
	numel int
	src   *source
	// off and size locate the bytes in the file, or in the uncompressed
	// data of entry when the bytes sit in a compressed zip entry.
	off, size int64
	entry     *zip.File
}

// where names the tensor and its file for error messages.
func (t *tensor) where() string { return fmt.Sprintf("%s: tensor %q", t.src.path, t.name) }

// bytes returns the tensor's bytes: a view into the mapped file, or a copy
// decompressed from its zip entry.
func (t *tensor) bytes() ([]byte, error) {
	if t.entry != nil {
		r, err := t.reader()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		b := make([]byte, t.size)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("%s: %w", t.where(), err)
		}
		return b, nil
	}
	data, err := t.src.mapped()
	if err != nil {
		return nil, err
	}
	if t.off < 0 || t.off+t.size > int64(len(data)) {
		return nil, fmt.Errorf("%s: bytes %d..%d lie past the end of the file (%d bytes)", t.where(), t.off, t.off+t.size, len(data))
	}
	return data[t.off : t.off+t.size : t.off+t.size], nil
}

// reader streams the tensor's bytes without mapping the file; close it
// when done (a zip entry holds a decompressor).
func (t *tensor) reader() (io.ReadCloser, error) {
	if t.entry == nil {
		return io.NopCloser(io.NewSectionReader(t.src.f, t.off, t.size)), nil
	}
	rc, err := t.entry.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.where(), err)
	}
	if _, err := io.CopyN(io.Discard, rc, t.off); err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s: %w", t.where(), err)
	}
	return limitedReadCloser{io.LimitReader(rc, t.size), rc}, nil
}

// limitedReadCloser reads through a limit and closes what is under it.
type limitedReadCloser struct {
	io.Reader
	io.Closer
}

// numelOf multiplies the dims of a shape, refusing negative dims and
// products past 2^50 so that nothing downstream overflows.
func numelOf(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > (1<<50)/d {
			return 0, fmt.Errorf("shape %v is implausibly large", shape)
		}
		n *= d
	}
	return n, nil
}
