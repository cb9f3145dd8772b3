// Package atomicfile writes files whole or not at all: through a
// temporary file in the same folder, renamed over the file only once
// complete. The temporary file is removed on every signal that ends the
// process and can be caught, and a later write of the same file removes
// those that processes killed outright left behind. Every file mamba.go
// writes (model.bin, states, tokenizers, checkpoints' shards) goes through
// Write.
package atomicfile

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

// Write writes path through a buffered temporary file in the same
// folder, renamed over path only when encode and every write succeeded, so
// that a failed or interrupted write never leaves a half file behind.
//
// Only a regular file is replaced: a device (/dev/null), a named pipe, a
// socket or a folder at path is refused, since the rename would put a plain
// file in its place. A symlink is followed: its target is replaced, the
// link stays. A path ending in a slash names a folder and is refused, as
// is a path in a folder that does not exist. The temporary file is named
// PATH.tmp-mamba-PID-RANDOM: it is removed on every signal that ends the
// process and can be caught (endingSignals), and a later write of the same
// path removes those left behind by processes that no longer run (killed
// with SIGKILL, say).
func Write(path string, encode func(w io.Writer) error) error {
	target, err := atomicTarget(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir, base := filepath.Dir(target), filepath.Base(target)
	removeStaleTemps(dir, base)
	tmp, untrack, err := createTracked(dir, tempPrefix(base, os.Getpid())+"*")
	if err != nil {
		// The temporary file's name means nothing to the user: the
		// folder and the reason do.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s: cannot create a file in folder %s: %w", path, dir, err)
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
	if path == "" {
		return "", errors.New("no file name")
	}
	if os.IsPathSeparator(path[len(path)-1]) {
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			return "", errors.New("is a folder, not a regular file: refusing to replace it (give a file name in it)")
		}
		return "", fmt.Errorf("ends in %c, so it names a folder; give a file name", path[len(path)-1])
	}
	target := path
	for range 40 { // as the kernel's limit on nested links
		if err := checkFolder(filepath.Dir(target)); err != nil {
			return "", err
		}
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

// checkFolder refuses a folder to write into (or to find a link in) that
// does not exist or is not a folder, naming it rather than the temporary
// file or the link.
func checkFolder(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the folder %s does not exist", dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is a file, not a folder", dir)
	}
	return nil
}

// tempMarker names a temporary file of Write: BASE.tmp-mamba-PID-.
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

// The temporary files being written now, removed on a signal that ends
// the process.
var (
	tempsMu     sync.Mutex
	temps       = map[string]bool{}
	signalsOnce sync.Once
)

// endingSignals are the signals that end a Go program by default and can
// be caught: SIGHUP (the terminal closed), SIGINT (^C), SIGQUIT (^\),
// SIGTERM (kill) and SIGABRT (a watchdog's, systemd's among them). SIGKILL
// cannot be caught. SIGPIPE is left alone: a Go program ignores it but for
// a write to a closed stdout or stderr, and catching it would turn that
// write's death into an EPIPE error; the program ignores the others
// (SIGUSR1, SIGALRM, SIGXFSZ, …), so they end no write. SIGSEGV and SIGBUS
// are the runtime's faults, not requests to stop.
var endingSignals = []os.Signal{syscall.SIGHUP, os.Interrupt, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGABRT}

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

// removeTempsOnSignal removes the temporary files on any of endingSignals,
// then raises the same signal again without the handler, so that the
// process ends as it would have without it: dead of SIGHUP, SIGINT or
// SIGTERM (the shell then reports it the usual way), or, for SIGQUIT and
// SIGABRT, with the Go runtime's dump of the goroutines and exit status 2.
//
// A signal ignored from the start (SIGINT of a background job, SIGHUP
// under nohup) stays ignored.
func removeTempsOnSignal() {
	var sigs []os.Signal
	for _, s := range endingSignals {
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
