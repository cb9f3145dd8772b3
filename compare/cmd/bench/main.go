// Command bench measures generation speed on one machine, in one run, and
// prints it beside what the machine's memory allows:
//
//	bench [-model .cache/bench/130m.bin] [-shape 130m] [-n 128] [-runs 5] [-learning-runs 2]
//	      [-bin bin] [-impls learning,fused,fused-simd] [-python /usr/bin/python3] [-pytorch-runs 3]
//
// Mamba's recurrent step reads every weight once per token and does about
// two flops per weight, so a CPU step is bound by memory bandwidth. bench
//
//   - writes the random model of the chosen shape if it is absent
//     (model.WriteRandomModelBin, what `mamba random-model` does);
//   - measures the machine's read bandwidth with a multi-threaded streaming
//     read of a 1 GiB buffer (best of several), and of the model file's own
//     memory map;
//   - turns it into a roofline: bytes read per token / bandwidth = the
//     most tokens per second any implementation can reach here;
//   - runs each bin/mamba-IMPL a few times (greedy, -n tokens after a short
//     prompt; the CLI prints the generation's tok/s), interleaved so that
//     noise from other load falls on all alike, and reports medians and each
//     binary's peak RSS;
//   - runs the PyTorch reference, compare/reference/bench.py, when the
//     script is there and the Python has torch (with OPENBLAS_CORETYPE and
//     OPENBLAS_L2_SIZE unset for it alone: they slow torch down ~4× here).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"

	"mamba.go/common/model"
)

// prompt is compare/reference/bench.py's default prompt, so that every
// implementation does the same work.
const prompt = "46,31834,310,247,747,1375,2317,1566,10336"

type options struct {
	model, shape, bin, python, impls string
	n, runs, learningRuns, torchRuns int
	bwGiB                            int
}

func main() {
	var o options
	flag.StringVar(&o.model, "model", filepath.Join(".cache", "bench", "130m.bin"), "model.bin to run; written with random weights if absent")
	flag.StringVar(&o.shape, "shape", "130m", "shape of the random model written when -model is absent (mamba2-130m ...: Mamba-2)")
	flag.StringVar(&o.bin, "bin", "bin", "folder of the mamba-IMPL binaries")
	flag.StringVar(&o.impls, "impls", "learning,fused,fused-simd", "implementations (bin/mamba-IMPL) to run; missing binaries are skipped")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Python with torch for the PyTorch row")
	flag.IntVar(&o.n, "n", 128, "tokens to generate per run")
	flag.IntVar(&o.runs, "runs", 7, "runs of each fast implementation")
	flag.IntVar(&o.learningRuns, "learning-runs", 2, "runs of learning (slow)")
	flag.IntVar(&o.torchRuns, "pytorch-runs", 3, "runs of the PyTorch reference")
	flag.IntVar(&o.bwGiB, "bw-gib", 1, "size of the bandwidth test buffer, GiB")
	child := flag.Bool("bandwidth-child", false, "internal: measure bandwidth and print it")
	flag.Parse()
	if *child {
		bw := bufferBandwidth(o.bwGiB<<30, runtime.NumCPU(), 3)
		mapped, err := mappedBandwidth(o.model, runtime.NumCPU(), 3)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		fmt.Println(bw.best, bw.median, mapped.best, mapped.median)
		return
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// result is one implementation's measurements.
type result struct {
	name    string
	tokS    []float64 // generation tok/s of each run
	round   []int     // the bandwidth round each run belongs to
	rssKiB  int64     // largest peak RSS over the runs
	note    string
	skipped bool
}

func (r *result) median() float64 { return median(r.tokS) }

func run(o options, out io.Writer) error {
	if err := ensureModel(o.model, o.shape); err != nil {
		return err
	}
	w, err := model.LoadModelBin(o.model)
	if err != nil {
		return err
	}
	c := w.Config
	st, err := os.Stat(o.model)
	if err != nil {
		return err
	}
	fileBytes := st.Size()
	perToken := bytesPerToken(c)

	fmt.Fprintf(out, "machine: %s, %d cores, %s\n", cpuName(), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(out, "model:   %s (%.0f MB): %s\n", o.model, float64(fileBytes)/1e6, c)
	fmt.Fprintf(out, "read per token: %.1f MB (every weight once, the head once, the state read and written)\n\n", float64(perToken)/1e6)

	// Bandwidth first, while nothing else of ours runs. It runs in a child
	// process: a child started by this one inherits this process's peak RSS
	// in its own rusage (exec records the old mm's high-water mark), so this
	// process must never hold the 1 GiB buffer if the RSS column is to mean
	// anything.
	w.Close()
	threads := runtime.NumCPU()
	// The machine's bandwidth moves with its other load, so it is measured
	// again before every round of runs; the roofline uses the best seen.
	var bufRates, mapRates []float64
	measureBandwidth := func() error {
		bw, mapped, err := bandwidthChild(o, threads)
		if err != nil {
			return err
		}
		bufRates = append(bufRates, bw.best)
		mapRates = append(mapRates, mapped.best)
		fmt.Fprintf(os.Stderr, "  bandwidth: %.1f GB/s (1 GiB buffer), %.1f GB/s (model's memory map)\n", bw.best/1e9, mapped.best/1e9)
		return nil
	}

	// The Go binaries, interleaved run by run.
	var results []*result
	byName := map[string]*result{}
	for _, name := range strings.Split(o.impls, ",") {
		name = strings.TrimSpace(name)
		r := &result{name: name}
		if _, err := os.Stat(filepath.Join(o.bin, "mamba-"+name)); err != nil {
			r.skipped, r.note = true, fmt.Sprintf("no %s/mamba-%s (make build)", o.bin, name)
		}
		results = append(results, r)
		byName[name] = r
	}
	for i := 0; i < max(o.runs, o.learningRuns); i++ {
		if err := measureBandwidth(); err != nil {
			return err
		}
		for _, r := range results {
			if r.skipped || (r.name == "learning" && i >= o.learningRuns) || (r.name != "learning" && i >= o.runs) {
				continue
			}
			tps, rss, err := runGo(filepath.Join(o.bin, "mamba-"+r.name), o.model, o.n)
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			r.tokS = append(r.tokS, tps)
			r.round = append(r.round, len(bufRates)-1)
			r.rssKiB = max(r.rssKiB, rss)
			fmt.Fprintf(os.Stderr, "  %-12s run %d: %.1f tok/s, peak RSS %.0f MB\n", r.name, i+1, tps, float64(rss)*1024/1e6)
		}
	}

	// PyTorch.
	torch := &result{name: "pytorch"}
	script := filepath.Join("compare", "reference", "bench.py")
	switch {
	case o.torchRuns == 0:
		torch.skipped, torch.note = true, "-pytorch-runs 0"
	case c.Arch != model.Mamba1:
		torch.skipped, torch.note = true, script+" runs Mamba-1 only"
	case !exists(script):
		torch.skipped, torch.note = true, script+" is not here yet"
	case exec.Command(o.python, "-c", "import torch").Run() != nil:
		torch.skipped, torch.note = true, o.python+" has no torch"
	default:
		if err := measureBandwidth(); err != nil {
			return err
		}
		torch.note = "compare/reference/bench.py, all cores"
		for i := 0; i < o.torchRuns; i++ {
			tps, rss, err := runTorch(o.python, script, o.model, o.n)
			if err != nil {
				torch.skipped, torch.note = true, err.Error()
				break
			}
			torch.tokS = append(torch.tokS, tps)
			torch.round = append(torch.round, len(bufRates)-1)
			torch.rssKiB = max(torch.rssKiB, rss)
			fmt.Fprintf(os.Stderr, "  %-12s run %d: %.1f tok/s\n", "pytorch", i+1, tps)
		}
		if !torch.skipped {
			torch.note += ", BLAS " + torchBLAS
		}
	}
	results = append(results, torch)
	if err := measureBandwidth(); err != nil {
		return err
	}
	bw := bandwidth{best: slices.Max(bufRates), median: median(bufRates)}
	mapped := bandwidth{best: slices.Max(mapRates), median: median(mapRates)}
	roof := bw.best / float64(perToken)
	// The roofline of a run's own round: the better of the bandwidths
	// measured just before and just after it.
	roundRoof := func(i int) float64 {
		b := bufRates[i]
		if i+1 < len(bufRates) {
			b = max(b, bufRates[i+1])
		}
		return b / float64(perToken)
	}
	fmt.Fprintf(out, "read bandwidth, %d threads, %d GiB buffer: best %.1f GB/s, median %.1f GB/s (%d measurements, one per round)\n",
		threads, o.bwGiB, bw.best/1e9, bw.median/1e9, len(bufRates))
	fmt.Fprintf(out, "read bandwidth over the model's memory map:  best %.1f GB/s, median %.1f GB/s\n", mapped.best/1e9, mapped.median/1e9)
	fmt.Fprintf(out, "roofline: %.1f GB/s / %.1f MB per token = %.1f tok/s\n\n", bw.best/1e9, float64(perToken)/1e6, roof)

	// The table.
	learningTPS, torchTPS := 0.0, 0.0
	if r := byName["learning"]; r != nil && !r.skipped {
		learningTPS = r.median()
	}
	if !torch.skipped {
		torchTPS = torch.median()
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMPL\tTOK/S median\tOF ROOFLINE\tOF ROUND'S ROOFLINE\tVS LEARNING\tVS PYTORCH\tBEST RUN\tOF ROOFLINE\tPEAK RSS\tRSS / FILE\tRUNS (tok/s)\tNOTE")
	for _, r := range results {
		if r.skipped {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\tskipped: %s\n", r.name, r.note)
			continue
		}
		m := r.median()
		rss := float64(r.rssKiB) * 1024
		best := slices.Max(r.tokS)
		var fracs []float64
		for i, t := range r.tokS {
			fracs = append(fracs, t/roundRoof(r.round[i]))
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f%%\t%.0f%%\t%s\t%s\t%.1f\t%.0f%%\t%.0f MB\t%.3f\t%s\t%s\n", r.name, m, 100*m/roof, 100*median(fracs),
			ratio(m, learningTPS), ratio(m, torchTPS), best, 100*best/roof, rss/1e6, rss/float64(fileBytes), fmtRuns(r.tokS), r.note)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nroofline %.1f tok/s = %.1f GB/s (best streaming read, %d threads) / %.1f MB per token; model file %.0f MB\n",
		roof, bw.best/1e9, threads, float64(perToken)/1e6, float64(fileBytes)/1e6)
	fmt.Fprintf(out, "OF ROUND'S ROOFLINE: median over runs of tok/s / (the better of the bandwidths measured just before and after the run's round / bytes per token);\n")
	fmt.Fprintf(out, "this machine's bandwidth moves between ~30, ~40 and ~60 GB/s with its other load, so a run is best judged against its own round\n")
	return nil
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func fmtRuns(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(s, " ")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// ensureModel writes the random model of shape to path unless it exists.
func ensureModel(path, shape string) error {
	if exists(path) {
		return nil
	}
	c, ok := model.Shapes[shape]
	if s, m2 := strings.CutPrefix(shape, "mamba2-"); m2 {
		c, ok = model.Shapes2[s]
	}
	if !ok {
		return fmt.Errorf("unknown shape %q", shape)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "writing a random %s model to %s ...\n", shape, path)
	return model.WriteRandomModelBin(path, c, 1)
}

// bytesPerToken is what one recurrent step must read: every layer's
// weights, the final norm, the head (once, tied or not), one embedding row,
// and the recurrent state, read and written.
// For either architecture: the parameters, less the embedding but one row
// (the head is read once, tied or not), and both halves of the state.
func bytesPerToken(c model.Config) int64 {
	d, vd := int64(c.DModel), int64(c.PaddedVocab())*int64(c.DModel)
	floats := c.NumParams() + d
	if !c.TiedHead {
		floats -= vd // the embedding: only its row is read
	}
	state := 2 * int64(c.NLayers) * int64(c.ConvStateLen()+c.SSMStateLen())
	return 4 * (floats + state)
}

// bandwidthChild runs this program again with -bandwidth-child and reads
// the buffer's and the memory map's bandwidth from its output.
func bandwidthChild(o options, threads int) (buf, mapped bandwidth, err error) {
	self, err := os.Executable()
	if err != nil {
		return buf, mapped, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(self, "-bandwidth-child", "-model", o.model, "-bw-gib", strconv.Itoa(o.bwGiB))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return buf, mapped, fmt.Errorf("bandwidth: %v: %s", err, lastLine(stderr.String()))
	}
	_, err = fmt.Sscan(stdout.String(), &buf.best, &buf.median, &mapped.best, &mapped.median)
	return buf, mapped, err
}

// bandwidth is the read speed of a few passes, bytes per second.
type bandwidth struct{ best, median float64 }

// bufferBandwidth times a streaming read of a fresh buffer of size bytes
// by threads goroutines, reps times.
func bufferBandwidth(size, threads, reps int) bandwidth {
	buf := make([]uint64, size/8)
	for i := range buf {
		buf[i] = uint64(i) // touch every page: no zero-page mapping
	}
	bw := readBandwidth(buf, threads, reps)
	buf = nil
	debug.FreeOSMemory()
	return bw
}

// mappedBandwidth is the same read over the model file's own memory map,
// where the weights come from (4 KiB page-cache pages, not the heap's).
func mappedBandwidth(path string, threads, reps int) (bandwidth, error) {
	data, closer, err := model.MapFile(path)
	if err != nil {
		return bandwidth{}, err
	}
	defer closer.Close()
	words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/8)
	return readBandwidth(words, threads, reps), nil
}

var sink uint64

func readBandwidth(buf []uint64, threads, reps int) bandwidth {
	readAll(buf, threads) // warm: page tables, page cache
	var rates []float64
	for range reps {
		t := time.Now()
		readAll(buf, threads)
		rates = append(rates, float64(len(buf)*8)/time.Since(t).Seconds())
	}
	return bandwidth{best: slices.Max(rates), median: median(rates)}
}

// readAll sums buf in threads contiguous shares.
func readAll(buf []uint64, threads int) {
	var wg sync.WaitGroup
	sums := make([]uint64, threads*8) // one cache line apart
	for t := range threads {
		lo, hi := len(buf)*t/threads, len(buf)*(t+1)/threads
		wg.Go(func() { sums[t*8] = sum(buf[lo:hi]) })
	}
	wg.Wait()
	for _, s := range sums {
		sink += s
	}
}

// sum is the streaming read: eight independent adds per 64-byte line keep
// enough loads in flight that memory, not the core, is the limit.
func sum(b []uint64) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	for len(b) >= 8 {
		c := b[:8:8]
		s0 += c[0]
		s1 += c[1]
		s2 += c[2]
		s3 += c[3]
		s4 += c[4]
		s5 += c[5]
		s6 += c[6]
		s7 += c[7]
		b = b[8:]
	}
	for _, v := range b {
		s0 += v
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}

var genRE = regexp.MustCompile(`generated: (\d+) tokens, ([0-9.]+) tok/s`)

// runGo runs one greedy generation with a mamba-IMPL binary and returns its
// generation tok/s and peak RSS (KiB).
func runGo(bin, modelPath string, n int) (float64, int64, error) {
	cmd := exec.Command(bin, modelPath, "-tokens", prompt, "-n", strconv.Itoa(n), "-t", "0", "-ignore-eos")
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, lastLine(stderr.String()))
	}
	m := genRE.FindStringSubmatch(stderr.String())
	if m == nil {
		return 0, 0, fmt.Errorf("no tok/s in its output: %s", lastLine(stderr.String()))
	}
	if got, _ := strconv.Atoi(m[1]); got != n {
		return 0, 0, fmt.Errorf("generated %d tokens, want %d", got, n)
	}
	tps, err := strconv.ParseFloat(m[2], 64)
	return tps, maxRSS(cmd), err
}

var (
	torchRE = regexp.MustCompile(`pytorch: ([0-9.]+) tok/s`)
	blasRE  = regexp.MustCompile(`blas: (.*)`)
)

// torchBLAS is the BLAS library the last PyTorch run used, for the note.
var torchBLAS string

// runTorch runs the PyTorch reference once.
func runTorch(python, script, modelPath string, n int) (float64, int64, error) {
	cmd := exec.Command(python, script, modelPath, "-n", strconv.Itoa(n))
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") || strings.HasPrefix(kv, "OPENBLAS_L2_SIZE=")
	})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("bench.py: %v: %s", err, lastLine(stderr.String()))
	}
	m := torchRE.FindStringSubmatch(stdout.String())
	if m == nil {
		return 0, 0, errors.New("bench.py printed no `pytorch: X tok/s` line")
	}
	if b := blasRE.FindStringSubmatch(stdout.String()); b != nil {
		first, _, _ := strings.Cut(b[1], ", ")
		torchBLAS = filepath.Base(filepath.Dir(first)) + "/" + filepath.Base(first)
	}
	tps, err := strconv.ParseFloat(m[1], 64)
	return tps, maxRSS(cmd), err
}

func maxRSS(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss // KiB on Linux
	}
	return 0
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
