// Command bench measures generation speed on one machine, in one run, and
// prints it beside what the machine's memory allows and beside mamba.c:
//
//	bench [-model .cache/bench/130m.bin] [-shape 130m] [-n 128] [-runs 7] [-learning-runs 2]
//	      [-threads 1,2] [-bin bin] [-impls learning,fused,fused-unpacked,fused-bf16] [-shared ../shared] [-cache .cache]
//	      [-python /usr/bin/python3] [-pytorch-runs 3] [-prefill 512] [-prefill-runs 3]
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
//   - builds mamba.c's learning and fused branches from SHARED/peers/mamba.c
//     into CACHE/mamba.c/ with its makefile's flags, and writes its
//     tokenizer.bin (mambac.go); without them, its rows say why they are
//     skipped;
//   - runs each bin/mamba-IMPL and each mamba.c build a few times at each
//     thread count (greedy, the same number of steps on the same model
//     file), interleaved so that noise from other load falls on all alike,
//     and reports medians and each program's peak RSS;
//   - runs the PyTorch reference, compare/reference/bench.py, when the
//     script is there and the Python has torch (with OPENBLAS_CORETYPE and
//     OPENBLAS_L2_SIZE unset for it alone: they slow torch down ~4× here),
//     at each thread count, with its batched forward of a -prefill-token
//     prompt, beside the prompt tok/s of the fast Go binaries on the same
//     prompt.
package main

import (
	"bytes"
	"cmp"
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
	"text/tabwriter"
	"time"
	"unsafe"

	"mamba.go/common/memory"
	"mamba.go/common/model"
)

// prompt is compare/reference/bench.py's default prompt, so that every
// implementation does the same work.
const prompt = "46,31834,310,247,747,1375,2317,1566,10336"

// promptIDs is prompt as ids.
func promptIDs() []int {
	var ids []int
	for _, f := range strings.Split(prompt, ",") {
		id, _ := strconv.Atoi(f)
		ids = append(ids, id)
	}
	return ids
}

func firstPromptToken() int { return promptIDs()[0] }

// longPrompt is prompt repeated to n tokens, as ids joined by commas: the
// prompt of the prefill rows.
func longPrompt(n int) string {
	ids := promptIDs()
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(ids[i%len(ids)])
	}
	return strings.Join(s, ",")
}

type options struct {
	model, shape, bin, python, impls, shared, cache, threads string
	n, runs, learningRuns, torchRuns, prefill, prefillRuns   int
	bwGiB                                                    int
}

func main() {
	var o options
	flag.StringVar(&o.model, "model", filepath.Join(".cache", "bench", "130m.bin"), "model.bin to run; written with random weights if absent")
	flag.StringVar(&o.shape, "shape", "130m", "shape of the random model written when -model is absent (mamba2-130m ...: Mamba-2)")
	flag.StringVar(&o.bin, "bin", "bin", "folder of the mamba-IMPL binaries")
	flag.StringVar(&o.impls, "impls", "learning,fused,fused-unpacked,fused-bf16", "implementations (bin/mamba-IMPL; fused-unpacked is bin/mamba-fused -packed=false, fused-bf16 bin/mamba-fused -weights bf16) to run; missing binaries are skipped")
	flag.StringVar(&o.shared, "shared", filepath.Join("..", "shared"), "the shared folder beside the project: mamba.c's sources (peers/mamba.c) and GPT-NeoX's tokenizer.json")
	flag.StringVar(&o.cache, "cache", ".cache", "folder for the mamba.c builds and its tokenizer.bin")
	flag.StringVar(&o.threads, "threads", "", "comma-separated thread counts to run at (default: 1 and all cores)")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Python with torch for the PyTorch row")
	flag.IntVar(&o.n, "n", 128, "tokens to generate per run")
	flag.IntVar(&o.runs, "runs", 7, "runs of each fast implementation")
	flag.IntVar(&o.learningRuns, "learning-runs", 2, "runs of the slow, one-thread ones (learning, mamba.c's learning)")
	flag.IntVar(&o.torchRuns, "pytorch-runs", 3, "runs of the PyTorch reference")
	flag.IntVar(&o.prefill, "prefill", 512, "prompt length of the prefill rows (0: none)")
	flag.IntVar(&o.prefillRuns, "prefill-runs", 3, "runs of each fast Go binary on the -prefill prompt")
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

// parseThreads reads -threads; empty means 1 and all ncpu cores.
func parseThreads(s string, ncpu int) ([]int, error) {
	if s == "" {
		s = fmt.Sprintf("1,%d", ncpu)
	}
	var ts []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 {
			return nil, fmt.Errorf("-threads: %q is not a thread count", f)
		}
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts, nil
}

const (
	goProgram = iota // a bin/mamba-IMPL binary
	cProgram         // a mamba.c build
)

// program is one binary the bench runs.
type program struct {
	name     string
	kind     int
	path     string
	threaded bool   // runs on more than one thread when given them
	skip     string // why it is not run; "" when it is
	note     string
	args     []string // more command-line flags (fused-bf16: -weights bf16)
	perToken int64    // bytes it reads per token, for its roofline; 0: bytesPerToken's
}

// slow programs get o.learningRuns runs.
func (p *program) slow() bool { return !p.threaded }

// result is one program's measurements at one thread count.
type result struct {
	name    string
	threads int
	tokS    []float64 // tok/s of each run
	round   []int     // the bandwidth round each run belongs to
	rssKiB  int64     // largest peak RSS over the runs
	note    string
	skipped bool
	perTok  int64 // bytes read per token: the roofline's divisor
}

func (r *result) median() float64 { return median(r.tokS) }

func (r *result) add(tps float64, rss int64, round int) {
	r.tokS = append(r.tokS, tps)
	r.round = append(r.round, round)
	r.rssKiB = max(r.rssKiB, rss)
}

// peerOf is the mamba.c program a row is compared with in VS MAMBA.C:
// its learning branch for the one-thread plain implementations, its
// OpenMP fused branch for everything else.
func peerOf(name string) string {
	if name == "learning" || name == "mamba.c-learning" {
		return "mamba.c-learning"
	}
	return "mamba.c-fused"
}

func run(o options, out io.Writer) error {
	threadCounts, err := parseThreads(o.threads, runtime.NumCPU())
	if err != nil {
		return err
	}
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
	perToken := bytesPerToken(c, 4)

	fmt.Fprintf(out, "machine: %s, %d cores, %s, %s\n", cpuName(), runtime.NumCPU(), cpuFeatures(cpuFlags()), runtime.Version())
	fmt.Fprintf(out, "model:   %s (%.0f MB): %s\n", o.model, float64(fileBytes)/1e6, c)
	fmt.Fprintf(out, "read per token: %.1f MB (every weight once, the head once, the state read and written)\n", float64(perToken)/1e6)
	fmt.Fprintf(out, "threads: %s (Go: GOMAXPROCS, one worker per thread; mamba.c: OMP_NUM_THREADS; PyTorch: -t, OPENBLAS_NUM_THREADS)\n\n", fmtInts(threadCounts))

	// Bandwidth first, while nothing else of ours runs. It runs in a child
	// process: a child started by this one inherits this process's peak RSS
	// in its own rusage (exec records the old mm's high-water mark), so this
	// process must never hold the 1 GiB buffer if the RSS column is to mean
	// anything.
	w.Close()
	threads := runtime.NumCPU()
	// The machine's bandwidth moves with its other load, so it is measured
	// again before every round of runs; the roofline uses the best seen.
	var bufRates, mapRates, loads []float64
	measureBandwidth := func() error {
		if l, ok := loadAverage(); ok {
			loads = append(loads, l)
		}
		bw, mapped, err := bandwidthChild(o, threads)
		if err != nil {
			return err
		}
		bufRates = append(bufRates, bw.best)
		mapRates = append(mapRates, mapped.best)
		fmt.Fprintf(os.Stderr, "  bandwidth: %.1f GB/s (1 GiB buffer), %.1f GB/s (model's memory map)\n", bw.best/1e9, mapped.best/1e9)
		return nil
	}

	// The programs: mamba.go's binaries, then mamba.c's builds.
	var progs []*program
	for _, name := range strings.Split(o.impls, ",") {
		name = strings.TrimSpace(name)
		p := &program{name: name, kind: goProgram, path: filepath.Join(o.bin, "mamba-"+name), threaded: name != "learning"}
		switch name {
		case "fused": // in_proj, out_proj and the head packed (fused/internal/kernels/packed.go)
			p.perToken = packedBytesPerToken(c)
			p.note = fmt.Sprintf("packed: %.1f MB per token", float64(p.perToken)/1e6)
		case "fused-unpacked": // fused with the products float32, as in the file
			p.path, p.args = filepath.Join(o.bin, "mamba-fused"), []string{"-packed=false"}
			p.note = "-packed=false"
		case "fused-bf16": // fused with the products' weights kept as bfloat16
			p.path, p.args, p.perToken = filepath.Join(o.bin, "mamba-fused"), []string{"-weights", "bf16"}, bytesPerToken(c, 2)
			p.note = fmt.Sprintf("-weights bf16: %.1f MB per token", float64(p.perToken)/1e6)
		}
		if !exists(p.path) {
			p.skip = fmt.Sprintf("no %s (make build)", p.path)
		}
		progs = append(progs, p)
	}
	cProgs, cs := prepareMambaC(o, c, os.Stderr)
	progs = append(progs, cProgs...)
	nPrompt := len(promptIDs())
	cSteps := nPrompt + o.n // mamba.c's -n counts the prompt: the same steps as a Go run
	checkEOS(progs, cProgs, o, cSteps)

	// The table's rows: at each thread count, every threaded program; the
	// one-thread ones at the lowest count only.
	var rows []*result
	at := map[string]*result{} // name@threads
	key := func(name string, t int) string { return name + "@" + strconv.Itoa(t) }
	torchRows := map[int]*result{}
	for i, t := range threadCounts {
		for _, p := range progs {
			if !p.threaded && i > 0 {
				continue
			}
			r := &result{name: p.name, threads: t, note: p.note, skipped: p.skip != "", perTok: cmp.Or(p.perToken, perToken)}
			if r.skipped {
				r.note = p.skip
			}
			rows = append(rows, r)
			at[key(p.name, t)] = r
		}
		torchRows[t] = &result{name: "pytorch", threads: t}
		rows = append(rows, torchRows[t])
		at[key("pytorch", t)] = torchRows[t]
	}

	// The runs, interleaved round by round.
	for i := 0; i < max(o.runs, o.learningRuns); i++ {
		if err := measureBandwidth(); err != nil {
			return err
		}
		for _, t := range threadCounts {
			for _, p := range progs {
				r := at[key(p.name, t)]
				if r == nil || r.skipped || (p.slow() && i >= o.learningRuns) || (!p.slow() && i >= o.runs) {
					continue
				}
				var tps float64
				var rss int64
				var err error
				if p.kind == cProgram {
					tps, rss, err = runC(p.path, o.model, cs, cSteps, t)
				} else {
					var s goStats
					s, rss, err = runGo(p.path, o.model, prompt, o.n, t, p.args...)
					tps = s.gen
				}
				if err != nil {
					return fmt.Errorf("%s: %w", p.name, err)
				}
				r.add(tps, rss, len(bufRates)-1)
				fmt.Fprintf(os.Stderr, "  %-16s %d thr run %d: %.1f tok/s, peak RSS %.0f MB\n", p.name, t, i+1, tps, float64(rss)*1024/1e6)
			}
		}
	}

	// PyTorch, and the prefill rows: a -prefill-token prompt.
	script := filepath.Join("compare", "reference", "bench.py")
	torchSkip := ""
	switch {
	case c.Arch != model.Mamba1:
		torchSkip = script + " runs Mamba-1 only"
	case !exists(script):
		torchSkip = script + " is not here yet"
	case exec.Command(o.python, "-c", "import torch").Run() != nil:
		torchSkip = o.python + " has no torch"
	}
	var prefillRows []*result
	prefAt := map[string]*result{}
	if o.prefill > 0 {
		for _, t := range threadCounts {
			for _, p := range progs {
				if p.kind == goProgram && p.threaded {
					r := &result{name: p.name, threads: t, skipped: p.skip != "", note: p.skip}
					prefillRows = append(prefillRows, r)
					prefAt[key(p.name, t)] = r
				}
			}
			r := &result{name: "pytorch", threads: t, skipped: torchSkip != "", note: torchSkip}
			prefillRows = append(prefillRows, r)
			prefAt[key("pytorch", t)] = r
		}
	}
	torchRuns := o.torchRuns
	if torchSkip != "" {
		torchRuns = 0
		for _, r := range torchRows {
			r.skipped, r.note = true, torchSkip
		}
	}
	prefillRuns := o.prefillRuns
	if o.prefill <= 0 {
		prefillRuns = 0
	}
	long := longPrompt(max(o.prefill, 1))
	for i := 0; i < max(torchRuns, prefillRuns); i++ {
		if err := measureBandwidth(); err != nil {
			return err
		}
		for _, t := range threadCounts {
			if r := torchRows[t]; i < torchRuns && !r.skipped {
				tr, rss, err := runTorch(o.python, script, o.model, o.n, t, o.prefill, long)
				if err != nil {
					r.skipped, r.note = true, err.Error()
					if pr := prefAt[key("pytorch", t)]; pr != nil {
						pr.skipped, pr.note = true, err.Error()
					}
				} else {
					r.add(tr.gen, rss, len(bufRates)-1)
					r.note = "compare/reference/bench.py, BLAS " + tr.blas
					fmt.Fprintf(os.Stderr, "  %-16s %d thr run %d: %.1f tok/s", "pytorch", t, i+1, tr.gen)
					if pr := prefAt[key("pytorch", t)]; pr != nil {
						pr.add(tr.prefill, rss, len(bufRates)-1)
						pr.note = "bench.py --prefill: batched projections, conv1d, scan a loop over time"
						fmt.Fprintf(os.Stderr, ", prompt of %d: %.1f tok/s", o.prefill, tr.prefill)
					}
					fmt.Fprintln(os.Stderr)
				}
			}
			if i >= prefillRuns {
				continue
			}
			for _, p := range progs {
				r := prefAt[key(p.name, t)]
				if r == nil || r.skipped || p.kind != goProgram {
					continue
				}
				s, rss, err := runGo(p.path, o.model, long, 1, t, p.args...)
				if err != nil {
					return fmt.Errorf("%s: %w", p.name, err)
				}
				r.add(s.prompt, rss, len(bufRates)-1)
				r.note = "the CLI's prompt tok/s"
				fmt.Fprintf(os.Stderr, "  %-16s %d thr run %d: prompt of %d: %.1f tok/s\n", p.name, t, i+1, o.prefill, s.prompt)
			}
		}
	}
	if err := measureBandwidth(); err != nil {
		return err
	}
	bw := bandwidth{best: slices.Max(bufRates), median: median(bufRates)}
	mapped := bandwidth{best: slices.Max(mapRates), median: median(mapRates)}
	roof := bw.best / float64(perToken)
	// The roofline of a run's own round: the better of the bandwidths
	// measured just before and just after it.
	roundRoof := func(i int, perTok int64) float64 {
		b := bufRates[i]
		if i+1 < len(bufRates) {
			b = max(b, bufRates[i+1])
		}
		return b / float64(perTok)
	}
	fmt.Fprintf(out, "read bandwidth, %d threads, %d GiB buffer: best %.1f GB/s, median %.1f GB/s (%d measurements, one per round)\n",
		threads, o.bwGiB, bw.best/1e9, bw.median/1e9, len(bufRates))
	fmt.Fprintf(out, "read bandwidth over the model's memory map:  best %.1f GB/s, median %.1f GB/s\n", mapped.best/1e9, mapped.median/1e9)
	fmt.Fprintf(out, "roofline: %.1f GB/s / %.1f MB per token = %.1f tok/s\n", bw.best/1e9, float64(perToken)/1e6, roof)
	if len(loads) > 0 {
		// Other processes on the machine take cores from the runs, and
		// OpenMP's spinning threads suffer most from that: the load says
		// how quiet the machine was.
		fmt.Fprintf(out, "1-minute load average before each round: %.1f to %.1f, median %.1f (%d cores; the bench's own run adds about 1)\n",
			slices.Min(loads), slices.Max(loads), median(loads), runtime.NumCPU())
	}
	fmt.Fprintln(out)

	// The table.
	medianOf := func(name string, t int) float64 {
		if r := at[key(name, t)]; r != nil && !r.skipped && len(r.tokS) > 0 {
			return r.median()
		}
		return 0
	}
	learningTPS := medianOf("learning", threadCounts[0])
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMPL\tTHREADS\tTOK/S median\tOF ROOFLINE\tOF MEDIAN ROOFLINE\tOF ROUND'S ROOFLINE\tVS MAMBA.C\tVS LEARNING\tVS PYTORCH\tBEST RUN\tPEAK RSS\tRSS / FILE\tRUNS (tok/s)\tNOTE")
	for _, r := range rows {
		if r.skipped || len(r.tokS) == 0 {
			note := "skipped: " + r.note
			if !r.skipped {
				note = "no runs asked for"
			}
			fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", r.name, r.threads, note)
			continue
		}
		m := r.median()
		rss := float64(r.rssKiB) * 1024
		var fracs []float64
		for i, t := range r.tokS {
			fracs = append(fracs, t/roundRoof(r.round[i], r.perTok))
		}
		peerT := r.threads
		if peerOf(r.name) == "mamba.c-learning" {
			peerT = threadCounts[0]
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.0f%%\t%.0f%%\t%.0f%%\t%s\t%s\t%s\t%.1f\t%.0f MB\t%.3f\t%s\t%s\n", r.name, r.threads, m,
			100*m/(bw.best/float64(r.perTok)), 100*m/(bw.median/float64(r.perTok)), 100*median(fracs),
			ratio(m, medianOf(peerOf(r.name), peerT)), ratio(m, learningTPS), ratio(m, medianOf("pytorch", r.threads)),
			slices.Max(r.tokS), rss/1e6, rss/float64(fileBytes), fmtRuns(r.tokS), r.note)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nroofline %.1f tok/s = %.1f GB/s (best streaming read, %d threads) / %.1f MB per token; model file %.0f MB\n",
		roof, bw.best/1e9, threads, float64(perToken)/1e6, float64(fileBytes)/1e6)
	fmt.Fprintf(out, "OF ROOFLINE, OF MEDIAN ROOFLINE: tok/s / (the best, the median of the bandwidths measured / bytes per token): on a machine whose bandwidth test reads high now and then, the median is the bandwidth runs usually have\n")
	fmt.Fprintf(out, "OF ROUND'S ROOFLINE: median over runs of tok/s / (the better of the bandwidths measured just before and after the run's round / bytes per token);\n")
	fmt.Fprintf(out, "this machine's bandwidth moves with its other load, so a run is best judged against its own round (the roofline is all cores' bandwidth, at every thread count)\n")
	fmt.Fprintf(out, "TOK/S: each program's own report of its one-token steps, loading excluded: Go, the CLI's generation tok/s (%d tokens after a %d-token prompt);\n", o.n, nPrompt)
	fmt.Fprintf(out, "mamba.c, its `achieved tok/s` (%d steps from a 1-token prompt, timed from the second); PyTorch, bench.py's generation tok/s (%d tokens)\n", cSteps, o.n)
	fmt.Fprintf(out, "VS MAMBA.C: against mamba.c-fused at the same thread count (learning: against mamba.c-learning, one thread)\n")

	if len(prefillRows) > 0 {
		fmt.Fprintf(out, "\nprompt of %d tokens (the bench prompt repeated), from an empty state:\n\n", o.prefill)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "IMPL\tTHREADS\tPROMPT TOK/S median\tVS OWN GENERATION\tVS PYTORCH BATCHED\tRUNS (tok/s)\tNOTE")
		for _, r := range prefillRows {
			if r.skipped || len(r.tokS) == 0 {
				note := r.note
				if note == "" {
					note = "no runs"
				}
				fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t-\tskipped: %s\n", r.name, r.threads, note)
				continue
			}
			m := r.median()
			torchPrefill := 0.0
			if pr := prefAt[key("pytorch", r.threads)]; pr != nil && !pr.skipped && len(pr.tokS) > 0 {
				torchPrefill = pr.median()
			}
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\n", r.name, r.threads, m,
				ratio(m, medianOf(r.name, r.threads)), ratio(m, torchPrefill), fmtRuns(r.tokS), r.note)
		}
		tw.Flush()
		fmt.Fprintf(out, "\nGo: the prompt tok/s the CLI reports (-n 1); a prompt tok/s near the generation's means the prompt is fed one token at a time\n")
	}
	return nil
}

// checkEOS: mamba.c stops at <|endoftext|> (it has no -ignore-eos), so its
// runs are only the same length as the Go runs if greedy decoding from
// its prompt token does not reach it. A Go binary, greedy on the same
// model from the same token, tells; if it stops early, mamba.c's rows say
// so (their tok/s is then over fewer steps).
func checkEOS(progs, cProgs []*program, o options, steps int) {
	var goBin string
	for _, p := range progs {
		if p.kind == goProgram && p.threaded && p.skip == "" {
			goBin = p.path
			break
		}
	}
	if goBin == "" {
		return
	}
	for _, p := range cProgs {
		if p.skip != "" {
			continue
		}
		cmd := exec.Command(goBin, o.model, "-tokens", strconv.Itoa(firstPromptToken()), "-n", strconv.Itoa(steps-1), "-t", "0")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "  mamba.c: could not check its run length: %v: %s\n", err, lastLine(stderr.String()))
			return
		}
		s, err := parseGo(stderr.String())
		if err == nil && s.genTokens < steps-1 {
			for _, q := range cProgs {
				q.note += fmt.Sprintf("; stops at <|endoftext|> after %d steps, not %d", s.genTokens+1, steps)
			}
		}
		return
	}
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

// packedBytesPerToken is bytesPerToken for fused's packed weights: in_proj,
// out_proj, the head and the embedding's row in 3.5 bytes a weight, the
// rest as float32 (fused/packed.go).
func packedBytesPerToken(c model.Config) int64 {
	packed := int64(c.PaddedVocab()+1) * int64(c.DModel) // the head and the embedding's row
	for _, t := range (&model.Layer{}).Tensors(c) {
		if t.Name == "in_proj" || t.Name == "out_proj" {
			packed += int64(t.Len()) * int64(c.NLayers)
		}
	}
	return bytesPerToken(c, 4) - packed/2
}

// bytesPerToken is what one recurrent step must read, for either
// architecture: every layer's weights, the final norm, the head (once, tied
// or not), one embedding row, and the recurrent state, read and written.
// productBytes is the size of one weight of the products, the embedding and
// the head: 4 as float32, 2 kept as bfloat16 (fused -weights bf16); the
// vectors and the state are float32.
func bytesPerToken(c model.Config, productBytes int64) int64 {
	var b int64
	for _, t := range (&model.Layer{}).Tensors(c) {
		size := int64(4)
		if t.BF16 != nil {
			size = productBytes
		}
		b += size * int64(t.Len()) * int64(c.NLayers)
	}
	d, vd := int64(c.DModel), int64(c.PaddedVocab())*int64(c.DModel)
	b += productBytes*(vd+d) + 4*d // the head and the embedding's row; norm_f
	return b + 4*2*int64(c.NLayers)*int64(c.ConvStateLen()+c.SSMStateLen())
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
	data, closer, err := memory.MapFile(path)
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

var (
	genRE    = regexp.MustCompile(`generated: (\d+) tokens, ([0-9.]+) tok/s`)
	promptRE = regexp.MustCompile(`prompt: (\d+) tokens, ([0-9.]+) tok/s`)
)

// goStats is what the CLI reports on stderr.
type goStats struct {
	promptTokens, genTokens int
	prompt, gen             float64 // tok/s
}

func parseGo(stderr string) (goStats, error) {
	var s goStats
	g, p := genRE.FindStringSubmatch(stderr), promptRE.FindStringSubmatch(stderr)
	if g == nil || p == nil {
		return s, fmt.Errorf("no tok/s in its output: %s", lastLine(stderr))
	}
	s.promptTokens, _ = strconv.Atoi(p[1])
	s.genTokens, _ = strconv.Atoi(g[1])
	var err1, err2 error
	s.prompt, err1 = strconv.ParseFloat(p[2], 64)
	s.gen, err2 = strconv.ParseFloat(g[2], 64)
	return s, errors.Join(err1, err2)
}

// runGo runs one greedy generation of n tokens after the prompt tokens
// with a mamba-IMPL binary on threads threads and returns what it
// reports and its peak RSS (KiB).
func runGo(bin, modelPath, tokens string, n, threads int, args ...string) (goStats, int64, error) {
	cmd := exec.Command(bin, append([]string{modelPath, "-tokens", tokens, "-n", strconv.Itoa(n), "-t", "0", "-ignore-eos"}, args...)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(threads))
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return goStats{}, 0, fmt.Errorf("%v: %s", err, lastLine(stderr.String()))
	}
	s, err := parseGo(stderr.String())
	if err != nil {
		return s, 0, err
	}
	if s.genTokens != n {
		return s, 0, fmt.Errorf("generated %d tokens, want %d", s.genTokens, n)
	}
	return s, maxRSS(cmd), nil
}

var (
	torchRE        = regexp.MustCompile(`pytorch: ([0-9.]+) tok/s`)
	torchPrefillRE = regexp.MustCompile(`pytorch prefill: ([0-9.]+) tok/s`)
	blasRE         = regexp.MustCompile(`blas: (.*)`)
)

// torchRun is what one bench.py run reports.
type torchRun struct {
	gen, prefill float64 // tok/s; prefill 0 when not asked for
	blas         string  // the BLAS library torch used, folder/file
}

func parseTorch(stdout string, wantPrefill bool) (torchRun, error) {
	var r torchRun
	m := torchRE.FindStringSubmatch(stdout)
	if m == nil {
		return r, errors.New("bench.py printed no `pytorch: X tok/s` line")
	}
	var err error
	if r.gen, err = strconv.ParseFloat(m[1], 64); err != nil {
		return r, err
	}
	if wantPrefill {
		p := torchPrefillRE.FindStringSubmatch(stdout)
		if p == nil {
			return r, errors.New("bench.py printed no `pytorch prefill: X tok/s` line")
		}
		if r.prefill, err = strconv.ParseFloat(p[1], 64); err != nil {
			return r, err
		}
	}
	if b := blasRE.FindStringSubmatch(stdout); b != nil {
		first, _, _ := strings.Cut(b[1], ", ")
		r.blas = filepath.Base(filepath.Dir(first)) + "/" + filepath.Base(first)
	}
	return r, nil
}

// runTorch runs the PyTorch reference once on threads threads (torch's
// and OpenBLAS's), with its batched prefill of the prefillTokens when
// prefill > 0.
func runTorch(python, script, modelPath string, n, threads, prefill int, prefillTokens string) (torchRun, int64, error) {
	args := []string{script, modelPath, "-n", strconv.Itoa(n), "-t", strconv.Itoa(threads)}
	if prefill > 0 {
		args = append(args, "--prefill", strconv.Itoa(prefill), "--prefill-prompt", prefillTokens)
	}
	cmd := exec.Command(python, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") || strings.HasPrefix(kv, "OPENBLAS_L2_SIZE=") ||
			strings.HasPrefix(kv, "OPENBLAS_NUM_THREADS=") || strings.HasPrefix(kv, "OMP_NUM_THREADS=")
	})
	cmd.Env = append(cmd.Env, "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads), "OMP_NUM_THREADS="+strconv.Itoa(threads))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return torchRun{}, 0, fmt.Errorf("bench.py: %v: %s", err, lastLine(stderr.String()))
	}
	r, err := parseTorch(stdout.String(), prefill > 0)
	return r, maxRSS(cmd), err
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// loadAverage is the 1-minute load average (Linux).
func loadAverage() (float64, bool) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	return parseLoadAverage(string(data))
}

func parseLoadAverage(s string) (float64, bool) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, false
	}
	l, err := strconv.ParseFloat(f[0], 64)
	return l, err == nil
}

func fmtInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// cpuFlags is the flags line of /proc/cpuinfo ("" elsewhere).
func cpuFlags() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "flags") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return v
			}
		}
	}
	return ""
}

// cpuFeatures names the vector extensions that decide the kernels' speed:
// mamba.c's -march=native build and fused's assembly use AVX-512 where
// there is one, else AVX2 with FMA.
func cpuFeatures(flags string) string {
	has := map[string]bool{}
	for _, f := range strings.Fields(flags) {
		has[f] = true
	}
	switch {
	case has["avx512f"]:
		return "AVX-512 (avx512f)"
	case has["avx2"] && has["fma"]:
		return "AVX2+FMA, no AVX-512"
	case has["avx2"]:
		return "AVX2, no FMA"
	case flags == "":
		return "CPU features unknown"
	}
	return "no AVX2"
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
