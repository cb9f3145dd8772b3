package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"mamba.go/common/atomicfile"
	"mamba.go/common/hub"
	"mamba.go/common/model"
	"mamba.go/common/tokenizer"
)

// mamba.c, the C program mamba.go follows, is measured beside mamba.go's
// binaries when its sources are beside the project (SHARED/peers/mamba.c,
// one folder per branch). They are built here, into CACHE/mamba.c/BRANCH/,
// with the flags of mamba.c's own makefile, never copied into the project.

// cBranch is one mamba.c branch and how its makefile builds it.
type cBranch struct {
	name   string   // the bench's name for it
	branch string   // its folder under peers/mamba.c
	flags  []string // its makefile's target's flags
	target string   // that target, for the notes
	// threaded: it runs on OMP_NUM_THREADS threads; without OpenMP it runs
	// on one, and is measured at one thread only.
	threaded bool
}

var cBranches = []cBranch{
	{name: "mamba.c-learning", branch: "learning", flags: []string{"-Ofast"}, target: "make fast"},
	{name: "mamba.c-fused", branch: "fused", flags: []string{"-Ofast", "-fopenmp", "-march=native"}, target: "make omp", threaded: true},
}

// cSetup is what running mamba.c needs: its tokenizer.bin and a prompt it
// encodes to the bench prompt's first token.
type cSetup struct {
	tokenizerBin string
	promptText   string
}

// prepareMambaC builds mamba.c's branches and writes its tokenizer.bin. It
// returns one program per branch, skipped (with a one-line reason) when
// the sources, a tokenizer, or the build are missing: mamba.c's rows are
// a comparison, never a reason for the bench to fail.
func prepareMambaC(o options, c model.Config, log io.Writer) ([]*program, cSetup) {
	var progs []*program
	for _, b := range cBranches {
		progs = append(progs, &program{name: b.name, kind: cProgram, threaded: b.threaded,
			note: fmt.Sprintf("gcc %s (%s)", strings.Join(b.flags, " "), b.target)})
	}
	skipAll := func(reason string) ([]*program, cSetup) {
		fmt.Fprintf(log, "  mamba.c: skipped: %s\n", reason)
		for _, p := range progs {
			p.skip = reason
		}
		return progs, cSetup{}
	}
	peers := filepath.Join(o.shared, "peers", "mamba.c")
	if !exists(peers) {
		return skipAll(fmt.Sprintf("no %s (mamba.c's sources, beside the project)", peers))
	}
	tokJSON, ok := findTokenizer(o.shared)
	if !ok {
		return skipAll("no GPT-NeoX-20B tokenizer.json (" + tokJSON + ", or the HF cache) to write mamba.c's tokenizer.bin from")
	}
	setup, err := writeTokenizerBin(tokJSON, filepath.Join(o.cache, "mamba.c", "tokenizer.bin"), c)
	if err != nil {
		return skipAll(err.Error())
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	for i, b := range cBranches {
		p := progs[i]
		src := filepath.Join(peers, b.branch, "mamba.c")
		if !exists(src) {
			p.skip = "no " + src
		} else if p.path, err = buildC(cc, src, filepath.Join(o.cache, "mamba.c", b.branch, "mamba"), b.flags); err != nil {
			p.skip = err.Error()
		}
		if p.skip != "" {
			fmt.Fprintf(log, "  %s: skipped: %s\n", b.name, p.skip)
		}
	}
	return progs, setup
}

// findTokenizer returns GPT-NeoX-20B's tokenizer.json from the shared
// folder, else from the HF cache; without either, the path looked for.
func findTokenizer(shared string) (string, bool) {
	p := filepath.Join(shared, "tokenizer", "gpt-neox-20b.tokenizer.json")
	if exists(p) {
		return p, true
	}
	if t, ok := hub.CachedFile(hub.CacheDir(), hub.DefaultTokenizerRepo, "tokenizer.json"); ok {
		return t, true
	}
	return p, false
}

// writeTokenizerBin writes mamba.c's tokenizer.bin from tokJSON to out and
// picks mamba.c's prompt. mamba.c indexes its vocabulary with every id the
// model samples, so the tokenizer must cover the model's vocabulary.
func writeTokenizerBin(tokJSON, out string, c model.Config) (cSetup, error) {
	tk, err := tokenizer.Load(tokJSON)
	if err != nil {
		return cSetup{}, err
	}
	if tk.VocabSize() < c.VocabSize {
		return cSetup{}, fmt.Errorf("%s has %d ids, the model samples from %d", tokJSON, tk.VocabSize(), c.VocabSize)
	}
	pieces, err := tk.MambaCPieces()
	if err != nil {
		return cSetup{}, fmt.Errorf("%s: %w", tokJSON, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return cSetup{}, err
	}
	if err := atomicfile.Write(out, tk.WriteMambaC); err != nil {
		return cSetup{}, err
	}
	text, err := cPromptText(pieces, firstPromptToken())
	if err != nil {
		return cSetup{}, err
	}
	return cSetup{tokenizerBin: out, promptText: text}, nil
}

// cPromptText is the text mamba.c encodes to the one token id. mamba.c
// takes a prompt as text and encodes it its own way, which can split a
// longer prompt differently from HF; a one-character token it finds in one
// lookup, so its run starts from the same token as the Go runs' prompt and
// then, greedy on the same model, follows their tokens.
func cPromptText(pieces [][]byte, id int) (string, error) {
	if id < 0 || id >= len(pieces) {
		return "", fmt.Errorf("prompt token %d is outside the tokenizer's %d ids", id, len(pieces))
	}
	p := pieces[id]
	if len(p) != 1 || p[0] < '!' || p[0] > '~' {
		return "", fmt.Errorf("prompt token %d is %q: mamba.c's prompt must be one printable ASCII character", id, p)
	}
	return string(p), nil
}

// buildC compiles src into out with flags (as mamba.c's makefile does:
// cc FLAGS mamba.c -lm -o mamba); on failure, an error of one line.
func buildC(cc, src, out string, flags []string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	args := append(append([]string{}, flags...), src, "-lm", "-o", out)
	var stderr bytes.Buffer
	cmd := exec.Command(cc, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := firstLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("build failed: %s %s: %s", cc, strings.Join(flags, " "), msg)
	}
	return out, nil
}

// cRE is mamba.c's report, on stderr: its steps after the first, over the
// time since the first step ended.
var cRE = regexp.MustCompile(`achieved tok/s: (\S+)`)

func parseC(stderr string) (float64, error) {
	m := cRE.FindStringSubmatch(stderr)
	if m == nil {
		return 0, fmt.Errorf("no `achieved tok/s` in its output: %s", lastLine(stderr))
	}
	tps, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("mamba.c's tok/s %q: %w", m[1], err)
	}
	// It times in whole milliseconds: a run shorter than one reads inf.
	if math.IsInf(tps, 0) || math.IsNaN(tps) || tps <= 0 {
		return 0, fmt.Errorf("mamba.c's run was too short to time (achieved tok/s: %s)", m[1])
	}
	return tps, nil
}

// runC runs one greedy generation of steps tokens (mamba.c counts the
// prompt's in them) with a mamba.c binary on threads OpenMP threads.
func runC(bin, modelPath string, s cSetup, steps, threads int) (float64, int64, error) {
	cmd := exec.Command(bin, modelPath, "-z", s.tokenizerBin, "-i", s.promptText, "-n", strconv.Itoa(steps), "-t", "0", "-s", "1")
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, lastLine(stderr.String()))
	}
	tps, err := parseC(stderr.String())
	return tps, maxRSS(cmd), err
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
