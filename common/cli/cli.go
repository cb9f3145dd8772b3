// Package cli is the command line shared by every implementation's binary
// (bin/mamba-learning, bin/mamba-fused, bin/mamba-cuda), with mamba.c's flags:
//
//	mamba-IMPL MODEL [-n steps] [-i prompt | -i - | -f FILE | -tokens 1,2,3] [-t temperature] [-p top_p]
//	           [-s seed] [-z tokenizer] [-save-state FILE] [-load-state FILE [-force-state]] [-ignore-eos] [-trace]
//	           [-weights f32|bf16|auto] [-trace-html FILE]
//
// Generated tokens stream to stdout as they are made; the prompt's and the
// generation's tok/s go to stderr.
package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"mamba.go/common/generate"
	"mamba.go/common/internal/safefile"
	"mamba.go/common/load"
	"mamba.go/common/model"
	"mamba.go/common/progress"
	"mamba.go/common/sample"
	"mamba.go/common/tokenizer"
	"mamba.go/common/trace"
)

// Main runs the command line of the binary called name and exits: 0 on
// success and for -h (whose usage goes to stdout), 1 on an error. The
// binary's own file name, when it has one, replaces name in messages (a
// command built under another name is named as it was called).
func Main(name string, newModel model.New) { MainOptions(name, newModel, Options{}) }

// stdin is where -i - reads the prompt (a variable for tests).
var stdin io.Reader = os.Stdin

// MaxPrompt bounds a prompt read from -f FILE or stdin, and the text that
// mamba tokenize reads (a prompt too).
const MaxPrompt = 64 << 20

// flags are the command line's settings.
type flags struct {
	model       string
	steps       int
	prompt      string
	promptSet   bool
	promptFile  string
	forceState  bool
	temperature float64
	topP        float64
	seed        uint64
	tokenizer   string
	tokens      string
	saveState   string
	loadState   string
	ignoreEOS   bool
	trace       bool
	traceHTML   string
	weights     load.Precision
}

// endOfText is <|endoftext|> in the GPT-NeoX vocabulary: generation stops there.
const endOfText = 0

func parseFlags(name string, args []string, stdout, stderr io.Writer, o Options) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a bad flag is one line, from Main; -h prints the usage to stdout
	fs.IntVar(&f.steps, "n", 256, "number of tokens to generate")
	fs.StringVar(&f.prompt, "i", "", "prompt text, or - to read it from stdin (needs a tokenizer: -z, or tokenizer.json beside MODEL); must be valid UTF-8")
	fs.StringVar(&f.promptFile, "f", "", "read the prompt text from `FILE` (for prompts longer than one argument); must be valid UTF-8")
	fs.BoolVar(&f.forceState, "force-state", false, "load -load-state even if it was saved from other weights of the same shape")
	fs.Float64Var(&f.temperature, "t", 1.0, "temperature; 0 is greedy (argmax)")
	fs.Float64Var(&f.topP, "p", 0.9, "top-p (nucleus) mass in (0, 1]; 1 disables it")
	fs.Uint64Var(&f.seed, "s", 0, "random seed; 0 takes one from the clock")
	fs.StringVar(&f.tokenizer, "z", "", "tokenizer.json (default: the one beside MODEL, else GPT-NeoX-20B's from the HF cache)")
	fs.StringVar(&f.tokens, "tokens", "", "prompt as comma-separated token ids, no tokenizer needed")
	fs.StringVar(&f.saveState, "save-state", "", "write the recurrent state after the prompt to FILE")
	fs.StringVar(&f.loadState, "load-state", "", "start from the state in FILE; the prompt continues it")
	fs.BoolVar(&f.ignoreEOS, "ignore-eos", false, "do not stop at <|endoftext|>")
	weights := fs.String("weights", "auto", "keep the weights as `f32`, bf16 (half the memory and bytes per token; mamba-fused only) or auto (bf16 when the checkpoint is bfloat16 and float32 would not fit in memory)")
	fs.BoolVar(&f.trace, "trace", false, "print every op the model reports, token by token, to stdout (e.g. -tokens 5 -n 0 -trace: one token's walk through the model)")
	fs.StringVar(&f.traceHTML, "trace-html", "", "after the run, write the trace explorer to `FILE`: one self-contained HTML page of the tokens, per-layer heatmaps of Δ, decay, gate and state, and each token's op-by-op walk (docs/trace-explorer.md)")
	if o.Flags != nil {
		o.Flags(fs)
	}
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: %s MODEL [flags]\n\nMODEL is a mamba.c model.bin, a checkpoint folder (config.json with\nmodel.safetensors or pytorch_model.bin), or an HF repo id in the HF cache.\nA prompt (-i, -f or stdin) that is not valid UTF-8 is refused, as by\n`mamba tokenize`, rather than silently changed.\n\nflags:\n", name)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	parse := func(args []string) error {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
		}
		return err
	}
	// mamba.c puts MODEL first; accept it first or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		f.model, args = args[0], args[1:]
	}
	if err := parse(args); err != nil {
		return nil, err
	}
	if f.model == "" && fs.NArg() > 0 {
		f.model = fs.Arg(0)
		if err := parse(fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.model == "" {
		usage(stderr)
		return nil, errors.New("no MODEL given")
	}
	iSet := false
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "i" {
			iSet = true
		}
	})
	if iSet && f.promptFile != "" {
		return nil, errors.New("give either -i or -f, not both")
	}
	f.promptSet = iSet || f.promptFile != ""
	var err error
	if f.weights, err = load.ParsePrecision(*weights); err != nil {
		return nil, err
	}
	switch {
	case f.steps < 0:
		return nil, fmt.Errorf("-n %d: want a count ≥ 0", f.steps)
	case f.temperature < 0 || math.IsNaN(f.temperature) || math.IsInf(f.temperature, 0):
		return nil, fmt.Errorf("-t %g: want a temperature ≥ 0", f.temperature)
	case !(f.topP > 0 && f.topP <= 1): // NaN too
		return nil, fmt.Errorf("-p %g: want top-p in (0, 1]", f.topP)
	case f.promptSet && f.tokens != "":
		return nil, errors.New("give either -i or -tokens (or -f), not both")
	}
	return f, nil
}

// parseTokenList reads "1,2,3": ids of decimal digits, each but the last
// followed by one comma (spaces around an id are fine). An empty entry
// ("1,,2", ",1", "1,") or a sign ("+3") is refused rather than skipped or
// read, so that a typo is not run as another prompt.
func parseTokenList(s string) ([]int, error) {
	var ids []int
	for i, field := range strings.Split(s, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			return nil, fmt.Errorf("-tokens %q: entry %d is empty (want ids separated by single commas, as in 1,2,3)", s, i)
		}
		if strings.Trim(field, "0123456789") != "" {
			return nil, fmt.Errorf("-tokens: %q is not a token id (want digits only, as in 1,2,3)", field)
		}
		id, err := strconv.Atoi(field)
		if err != nil {
			return nil, fmt.Errorf("-tokens: %q is not a token id (%v)", field, errors.Unwrap(err))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Options say what the implementation behind a command can do.
type Options struct {
	// BF16Weights: it runs weights kept as bfloat16 (model.Weights.BF16),
	// so -weights bf16 and auto can give it such weights.
	BF16Weights bool
	// Flags, when set, defines the implementation's own flags in the
	// command line's flag set (mamba-fused's -packed and -hugepages): they
	// parse as the others do, anywhere among them, and -h lists them with
	// the others. Their values are set before the model is made.
	Flags func(fs *flag.FlagSet)
}

// MainOptions is Main for an implementation that can do what o says.
func MainOptions(name string, newModel model.New, o Options) {
	if len(os.Args) > 0 && strings.HasPrefix(filepath.Base(os.Args[0]), name) {
		name = filepath.Base(os.Args[0])
	}
	if err := RunOptions(name, os.Args[1:], os.Stdout, os.Stderr, newModel, o); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Run is Main without the exit, for tests.
func Run(name string, args []string, stdout, stderr io.Writer, newModel model.New) error {
	return RunOptions(name, args, stdout, stderr, newModel, Options{})
}

// RunOptions is MainOptions without the exit.
func RunOptions(name string, args []string, stdout, stderr io.Writer, newModel model.New, o Options) error {
	f, err := parseFlags(name, args, stdout, stderr, o)
	if err != nil {
		return err
	}
	if !o.BF16Weights {
		if f.weights == load.BF16 {
			return fmt.Errorf("-weights bf16: %s runs float32 weights only (mamba-fused runs bfloat16 ones)", name)
		}
		f.weights = load.Float32
	}
	if f.saveState != "" {
		if err := refuseModelFile(f.saveState, f.model); err != nil {
			return err
		}
	}
	w, note, err := load.OpenAs(f.model, f.weights)
	if err != nil {
		return err
	}
	defer w.Close()
	if note != "" {
		fmt.Fprintf(stderr, "%s: %s\n", name, note)
	}
	c := w.Config

	prompt, out, err := promptAndOutput(name, f, stdout, stderr, c)
	if err != nil {
		return err
	}
	m, err := newModel(w)
	if err != nil {
		return fmt.Errorf("%s: %w", f.model, err)
	}
	defer m.Close()
	// With -trace, every op is printed and the first non-finite value is
	// watched for, so that logits that cannot be sampled name their origin.
	var nonFinite *trace.NonFinite
	var printing model.Tracer // -trace's
	if f.trace {
		tm, ok := m.(model.Traceable)
		if !ok {
			return fmt.Errorf("-trace: %s's model reports no trace", name)
		}
		nonFinite = new(trace.NonFinite)
		printing = trace.Chain{nonFinite, &trace.Printer{W: stdout, Config: c}}
		tm.SetTracer(printing)
	}
	explorer, err := startTraceHTML(f, m, w, name, printing)
	if err != nil {
		return err
	}
	if f.loadState != "" {
		s, err := model.LoadState(f.loadState, c)
		if err != nil {
			return err
		}
		if err := s.CheckWeights(w); err != nil && !f.forceState {
			return fmt.Errorf("%s: %w; -force-state loads it anyway", f.loadState, err)
		}
		// Checked (or forced): the state now belongs to these weights, so
		// the model's SetState, which knows only their own fingerprint,
		// takes it (an old unrounded fingerprint, or -force-state).
		s.Fingerprint = model.Fingerprint(w)
		if err := m.SetState(s); err != nil {
			return fmt.Errorf("%s: %w", f.loadState, err)
		}
	}

	seed := f.seed
	if seed == 0 {
		seed = uint64(nowNanos())
	}
	sampler := sample.New(c.VocabSize, float32(f.temperature), float32(f.topP), seed)
	opt := generate.Options{Steps: f.steps, StopToken: endOfText}
	if f.ignoreEOS {
		opt.StopToken = -1
	}

	if f.saveState != "" {
		opt.AfterPrompt = func() error {
			s, err := m.State()
			if err != nil {
				return fmt.Errorf("-save-state %s: %w", f.saveState, err)
			}
			return model.SaveState(f.saveState, s)
		}
	}
	bar := showPromptProgress(&opt, stderr, f.trace)
	st, err := generate.Generate(m, prompt, sampler, opt, out.emit)
	bar.Clear()
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if nf := (*sample.NonFiniteError)(nil); errors.As(err, &nf) {
		if nonFinite != nil {
			return fmt.Errorf("%w; %s", err, nonFinite)
		}
		return fmt.Errorf("%w; run again with -trace to see the first op that made a non-finite value", err)
	}
	if err != nil {
		return err
	}
	if err := explorer.write(prompt, out); err != nil {
		return err
	}
	gap := "\n" // a blank line between the text and the report, when there is text
	if out.first {
		gap = ""
	}
	fmt.Fprintf(stderr, "%sprompt: %d tokens, %.1f tok/s; generated: %d tokens, %.1f tok/s\n",
		gap, st.PromptTokens, st.PromptTokPerSec(), st.GenTokens, st.GenTokPerSec())
	return nil
}

// newPromptBar is the bar of a prompt's progress on stderr (a variable for
// tests): "prompt  12000/200000 tokens  6%", on a terminal, for a prompt
// that takes more than a second.
var newPromptBar = func(stderr io.Writer) *progress.Bar {
	b := progress.New(stderr, progress.Count("tokens"))
	b.After = time.Second
	return b
}

// showPromptProgress makes opt report the prompt's progress on a bar of
// stderr, when stderr is a terminal and no -trace prints to the screen
// meanwhile. The bar is erased once the prompt is fed, before the first
// generated token, so that the text starts where the bar was; stdout gets
// only the text.
func showPromptProgress(opt *generate.Options, stderr io.Writer, tracing bool) *progress.Bar {
	bar := newPromptBar(stderr)
	if !bar.Drawing() || tracing {
		return nil
	}
	opt.PromptProgress = bar.Reporter("prompt")
	afterPrompt := opt.AfterPrompt
	opt.AfterPrompt = func() error {
		bar.Clear()
		if afterPrompt != nil {
			return afterPrompt()
		}
		return nil
	}
	return bar
}

// refuseModelFile refuses to write path when it is the model's own file or
// one of the files of its checkpoint folder.
func refuseModelFile(path, modelArg string) error {
	resolved, err := load.Resolve(modelArg)
	if err != nil {
		return nil // Open will say why
	}
	if f, ok := load.ModelFileAt(path, resolved); ok {
		return fmt.Errorf("-save-state %s: is the model's own file %s", path, f)
	}
	return nil
}

// tokenOutput streams generated tokens to stdout: as text through the
// tokenizer's streaming decoder (which holds back an incomplete UTF-8
// sequence until it is whole), or as ids when there is no tokenizer.
type tokenOutput struct {
	w     *bufio.Writer
	text  *tokenizer.StreamDecoder // nil: print ids
	tok   *tokenizer.Tokenizer     // nil: none
	ids   []int                    // the generated tokens
	first bool
}

func (o *tokenOutput) emit(id int) error {
	o.ids = append(o.ids, id)
	if o.text != nil {
		o.w.WriteString(o.text.Add(id))
	} else {
		if !o.first {
			o.w.WriteByte(' ')
		}
		fmt.Fprint(o.w, id)
	}
	o.first = false
	return o.w.Flush() // stream: the user sees each token as it is made
}

// flush ends the text with a newline; no token, no text, and no line
// (-n 0 prints nothing).
func (o *tokenOutput) flush() error {
	if o.first {
		return nil
	}
	if o.text != nil {
		o.w.WriteString(o.text.Flush())
	}
	o.w.WriteByte('\n')
	return o.w.Flush()
}

// openTokenizer loads -z, or the tokenizer.json beside the model (or, for a
// GPT-NeoX-vocabulary model, GPT-NeoX-20B's from the HF cache); nil when
// none exists and none is needed.
func openTokenizer(f *flags, c model.Config) (*tokenizer.Tokenizer, error) {
	path := f.tokenizer
	if path == "" {
		p, ok := load.Tokenizer(f.model, c)
		if !ok {
			if f.promptSet {
				return nil, fmt.Errorf("-i needs a tokenizer: none found at %s; pass -z tokenizer.json, or give the prompt as -tokens 1,2,3", p)
			}
			return nil, nil
		}
		path = p
	}
	return tokenizer.Load(path)
}

// promptAndOutput turns -i or -tokens into prompt ids and picks how tokens are printed.
func promptAndOutput(name string, f *flags, stdout, stderr io.Writer, c model.Config) ([]int, *tokenOutput, error) {
	tok, err := openTokenizer(f, c)
	if err != nil {
		if f.promptSet || f.tokenizer != "" {
			return nil, nil, err
		}
		// -tokens needs no tokenizer: print ids rather than fail on a
		// broken tokenizer.json that the user did not ask for.
		fmt.Fprintf(stderr, "%s: warning: %v; printing token ids\n", name, err)
		tok = nil
	}
	out := &tokenOutput{w: bufio.NewWriter(stdout), first: true}
	if tok != nil {
		out.text, out.tok = tok.NewStreamDecoder(), tok
	}
	var ids []int
	switch {
	case f.promptSet:
		text, err := promptText(f)
		if err != nil {
			return nil, nil, err
		}
		ids = tok.Encode(text)
	case f.tokens != "":
		if ids, err = parseTokenList(f.tokens); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, errors.New("empty prompt: give -i TEXT or -tokens 1,2,3")
	}
	if len(ids) == 0 {
		return nil, nil, errors.New("empty prompt: it has no tokens")
	}
	for _, id := range ids {
		if err := model.CheckToken(c, id); err != nil {
			return nil, nil, fmt.Errorf("prompt: %w (is the tokenizer for this model?)", err)
		}
	}
	return ids, out, nil
}

// promptText is the prompt of -i TEXT, -i - (stdin) or -f FILE. It must be
// valid UTF-8: the tokenizer would replace bad bytes by U+FFFD, silently
// changing the text (mamba tokenize refuses them the same way).
func promptText(f *flags) (string, error) {
	what, text := "-i", []byte(f.prompt)
	var err error
	switch {
	case f.promptFile != "":
		what = "-f " + f.promptFile
		text, err = safefile.ReadFile(f.promptFile, MaxPrompt)
	case f.prompt == "-":
		what = "-i - (stdin)"
		text, err = safefile.ReadAllLimit(stdin, MaxPrompt)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if !utf8.Valid(text) {
		return "", fmt.Errorf("%s: the prompt is not valid UTF-8 (first bad byte at offset %d)", what, tokenizer.FirstInvalidUTF8(text))
	}
	return string(text), nil
}

func nowNanos() int64 { return time.Now().UnixNano() }
