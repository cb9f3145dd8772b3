package model

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mamba.go/common/internal/safefile"
)

// WriteFileAtomic writes path through a buffered temporary file in the same
// folder, renamed over path only when encode and every write succeeded, so
// that a failed or interrupted write never leaves a half file behind.
//
// Only a regular file is replaced: a device (/dev/null), a named pipe, a
// socket or a folder at path is refused, since the rename would put a plain
// file in its place. A symlink is followed: its target is replaced, the
// link stays. The temporary file is named PATH.tmp-mamba-PID-RANDOM: it is
// removed on SIGINT and SIGTERM, and a later write of the same path removes
// those left behind by processes that no longer run (killed with SIGKILL,
// say).
func WriteFileAtomic(path string, encode func(w io.Writer) error) error {
	target, err := atomicTarget(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir, base := filepath.Dir(target), filepath.Base(target)
	removeStaleTemps(dir, base)
	tmp, untrack, err := createTracked(dir, tempPrefix(base, os.Getpid())+"*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer untrack()
	defer os.Remove(tmp.Name()) // a no-op after the rename
	bw := bufio.NewWriterSize(tmp, 1<<20)
	err = encode(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// atomicTarget is the file that path names, following symlinks (to a
// target that may not exist yet), when it is a regular file or does not
// exist yet; anything else is refused.
func atomicTarget(path string) (string, error) {
	target := path
	for range 40 { // as the kernel's limit on nested links
		lst, err := os.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			return target, nil
		}
		if err != nil {
			return "", err
		}
		if lst.Mode()&fs.ModeSymlink == 0 {
			break
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(target), link)
		}
		target = link
	}
	st, err := os.Stat(target)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("is %s, not a regular file: refusing to replace it", safefile.Kind(st.Mode()))
	}
	return target, nil
}

// tempMarker names a temporary file of WriteFileAtomic: BASE.tmp-mamba-PID-.
const tempMarker = ".tmp-mamba-"

func tempPrefix(base string, pid int) string { return base + tempMarker + strconv.Itoa(pid) + "-" }

// removeStaleTemps removes BASE.tmp-mamba-PID-* in dir whose process PID no
// longer runs. A live PID (even a reused one) keeps its file.
func removeStaleTemps(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), base+tempMarker)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

// The temporary files being written now, removed on SIGINT or SIGTERM.
var (
	tempsMu     sync.Mutex
	temps       = map[string]bool{}
	signalsOnce sync.Once
)

// createTracked creates a temporary file and records it for removal on a
// signal. The record is made under the lock that the signal handler takes
// first, so that no signal falls between the file's creation and its record.
func createTracked(dir, pattern string) (f *os.File, untrack func(), err error) {
	signalsOnce.Do(removeTempsOnSignal)
	tempsMu.Lock()
	defer tempsMu.Unlock()
	f, err = os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, nil, err
	}
	temps[f.Name()] = true
	return f, func() {
		tempsMu.Lock()
		delete(temps, f.Name())
		tempsMu.Unlock()
	}, nil
}

// removeTempsOnSignal removes the temporary files on SIGINT or SIGTERM,
// then dies of the same signal, as the process would have without the
// handler (the shell then reports it the usual way).
//
// A signal ignored from the start (SIGINT of a background job) stays ignored.
func removeTempsOnSignal() {
	var sigs []os.Signal
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		sig := <-ch
		tempsMu.Lock() // held to the end: no new temporary file is made
		for name := range temps {
			os.Remove(name)
		}
		signal.Reset(sigs...)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Signal(sig)
		}
		time.Sleep(time.Second) // the signal is on its way; exit only if it never comes
		os.Exit(1)
	}()
}
