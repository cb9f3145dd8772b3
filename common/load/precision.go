package load

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mamba.go/common/checkpoint"
	"mamba.go/common/model"
)

// Precision says how the weights of the products, the embedding and the
// head are kept in memory (model.Weights.BF16); the vectors stay float32.
type Precision int

const (
	// Float32: every implementation runs such weights.
	Float32 Precision = iota
	// BF16: half the memory and half the bytes per token; only fused runs
	// them. A bfloat16 checkpoint's tensors stay views of its files;
	// float32 or float16 ones are narrowed (model.BF16FromFloat32).
	BF16
	// Auto: BF16 when the checkpoint's tensors are bfloat16 and the model
	// as float32 would not fit in the memory available; else Float32.
	Auto
)

// ParsePrecision reads the -weights flag's values: f32, bf16 or auto.
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "f32":
		return Float32, nil
	case "bf16":
		return BF16, nil
	case "auto":
		return Auto, nil
	}
	return 0, fmt.Errorf("-weights %q: want f32, bf16 or auto", s)
}

// availableMemory is the memory that can be had without swapping:
// MemAvailable in /proc/meminfo, or less where a cgroup v2 (a container)
// limits the process; ok is false where neither can be read.
var availableMemory = func() (bytes int64, ok bool) {
	avail, ok := memAvailable("/proc/meminfo")
	if room, rok := cgroupRoom("/sys/fs/cgroup", ownCgroup("/proc/self/cgroup")); rok && (!ok || room < avail) {
		return room, true
	}
	return avail, ok
}

// memAvailable reads MemAvailable from a /proc/meminfo.
func memAvailable(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, found := strings.CutPrefix(s.Text(), "MemAvailable:"); found {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// ownCgroup is the process's cgroup v2 path ("/" at the root), from the
// "0::/path" line of /proc/self/cgroup; "" without one.
func ownCgroup(procFile string) string {
	b, err := os.ReadFile(procFile)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}

// cgroupRoom is what the cgroup v2 hierarchy mounted at root still lets a
// process of cgroup path take: the least, over the cgroup and its
// parents, of memory.max − (memory.current − inactive_file), the file
// cache that can be dropped counting as free as MemAvailable counts it;
// ok is false with no limit ("max" everywhere) or no cgroup v2.
func cgroupRoom(root, path string) (room int64, ok bool) {
	if path == "" {
		return 0, false
	}
	number := func(dir, name string) (int64, bool) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n, err == nil
	}
	inactiveFile := func(dir string) int64 {
		b, err := os.ReadFile(filepath.Join(dir, "memory.stat"))
		if err != nil {
			return 0
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, found := strings.CutPrefix(line, "inactive_file "); found {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				return n
			}
		}
		return 0
	}
	for p := filepath.Clean("/" + path); ; p = filepath.Dir(p) {
		dir := filepath.Join(root, p)
		if limit, lok := number(dir, "memory.max"); lok {
			used, _ := number(dir, "memory.current")
			r := max(limit-max(used-inactiveFile(dir), 0), 0)
			if !ok || r < room {
				room, ok = r, true
			}
		}
		if p == "/" {
			return room, ok
		}
	}
}

// OpenAs is Open with the weights kept as p says. note says, when it is
// not empty, what Auto chose and why (for the user: one line).
func OpenAs(path string, p Precision) (w *model.Weights, note string, err error) {
	resolved, err := Resolve(path)
	if err != nil {
		return nil, "", err
	}
	if st, err := os.Stat(resolved); err != nil || !st.IsDir() {
		if w, err = model.LoadModelBin(resolved); err != nil {
			return nil, "", err
		}
		if p == BF16 { // a model.bin is float32: Auto keeps it so
			w.NarrowToBF16()
		}
		return w, "", nil
	}
	ck, err := checkpoint.Open(resolved)
	if err != nil {
		return nil, "", err
	}
	ck.BF16 = p == BF16
	avail, known := availableMemory()
	if p == Auto && ck.ProductsBF16() {
		need := ck.Float32Copies()
		if known && need+need/10 > avail {
			ck.BF16 = true
			note = fmt.Sprintf("weights kept as bfloat16, as the checkpoint stores them: as float32 they would take %.1f GB, and %.1f GB are available", float64(need)/1e9, float64(avail)/1e9)
		}
	}
	// Float32 weights converted from F16 or BF16 take memory of their own:
	// refuse at once what would fail, after minutes, for want of it.
	if need := ck.Float32Copies(); !ck.BF16 && known && need+need/10 > avail {
		ck.Close()
		return nil, "", fmt.Errorf("model %s: as float32 its weights need %.1f GB of memory, and %.1f GB are available: keep them as bfloat16 (mamba-fused -weights bf16)", path, float64(need)/1e9, float64(avail)/1e9)
	}
	if w, err = ck.Weights(); err != nil {
		ck.Close()
		return nil, "", err
	}
	w.SetCloser(ck)
	return w, note, nil
}
