// Package safefile opens files named by the user or found beside a model
// without trusting what they are: the file type is checked before anything
// is read, so that a named pipe cannot block the program at open and a
// device such as /dev/zero cannot feed it without end, and every read of a
// small file (a config, a tokenizer, a prompt) is bounded by a size limit.
package safefile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Open opens path for reading and refuses anything but a regular file.
// The open itself does not block on a named pipe (it is opened
// non-blocking where the OS has that flag, then refused by its type).
func Open(path string) (*os.File, fs.FileInfo, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, nil, notRegular(st.Mode())
	}
	// The Stat above and the open below race with a file being replaced:
	// the non-blocking open keeps even that case from hanging.
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(st.Mode())
	}
	return f, st, nil
}

func notRegular(m fs.FileMode) error {
	return fmt.Errorf("not a regular file (%s)", Kind(m))
}

// Kind names what a file that is not a regular one is, for an error:
// "a folder", "a named pipe", "a socket", "a character device", "a block
// device", else "a special file".
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// ReadFile reads the whole regular file at path, refusing one of more
// than limit bytes before reading it (and, should it grow while read, at
// limit+1 bytes).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, tooLarge(st.Size(), limit)
	}
	return ReadAllLimit(f, limit)
}

// ReadAllLimit reads r to its end, failing past limit bytes.
func ReadAllLimit(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than the %d bytes allowed", limit)
	}
	return b, nil
}

func tooLarge(size, limit int64) error {
	return fmt.Errorf("%d bytes, more than the %d bytes allowed", size, limit)
}
