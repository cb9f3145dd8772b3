package memory

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// AvailableMemory is the memory that the process can still take without
// swapping: MemAvailable in /proc/meminfo, or less where a cgroup v2 (a
// container) limits the process; ok is false where neither can be read.
// The loader (common/load) and fused ask it before a copy of the weights
// as large as the model.
func AvailableMemory() (bytes int64, ok bool) {
	avail, ok := memAvailable("/proc/meminfo")
	if room, rok := cgroupRoom("/sys/fs/cgroup", ownCgroup("/proc/self/cgroup")); rok && (!ok || room < avail) {
		return room, true
	}
	return avail, ok
}

// RoomFor says whether need bytes fit in avail with a tenth of need to
// spare (need + need/10 ≤ avail): what the rest of the process takes
// beside a copy of the weights, and what the estimate misses.
func RoomFor(need, avail int64) bool { return need+need/10 <= avail }

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
