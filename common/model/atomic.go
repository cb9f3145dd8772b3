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
	tmp, err := os.CreateTemp(dir, tempPrefix(base, os.Getpid())+"*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	untrack := trackTemp(tmp.Name())
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

// atomicTarget is the file that path names, following symlinks, when it is
// a regular file or does not exist yet; anything else is refused.
func atomicTarget(path string) (string, error) {
	lst, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", err
	}
	target := path
	if lst.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return "", fmt.Errorf("a symlink whose target cannot be resolved: %w", err)
		}
	}
	st, err := os.Stat(target)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		kind := "a special file"
		switch m := st.Mode(); {
		case m.IsDir():
			kind = "a folder"
		case m&fs.ModeNamedPipe != 0:
			kind = "a named pipe"
		case m&fs.ModeSocket != 0:
			kind = "a socket"
		case m&fs.ModeCharDevice != 0:
			kind = "a character device"
		case m&fs.ModeDevice != 0:
			kind = "a block device"
		}
		return "", fmt.Errorf("is %s, not a regular file: refusing to replace it", kind)
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

func trackTemp(name string) (untrack func()) {
	signalsOnce.Do(removeTempsOnSignal)
	tempsMu.Lock()
	temps[name] = true
	tempsMu.Unlock()
	return func() {
		tempsMu.Lock()
		delete(temps, name)
		tempsMu.Unlock()
	}
}

// removeTempsOnSignal removes the temporary files on SIGINT or SIGTERM,
// then dies of the same signal, as the process would have without the
// handler (the shell then reports it the usual way).
func removeTempsOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		tempsMu.Lock() // held to the end: no new temporary file is made
		for name := range temps {
			os.Remove(name)
		}
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Signal(sig)
		}
		time.Sleep(time.Second) // the signal is on its way; exit only if it never comes
		os.Exit(1)
	}()
}
