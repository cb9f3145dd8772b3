package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/progress"
	"mamba.go/common/tokenizer"
)

// counter is a stand-in model whose next token is always (last token + 1)
// mod vocab plus the number of tokens it has seen before, kept in its state,
// so the CLI's plumbing can be checked without any real math.
type counter struct {
	c      model.Config
	fp     uint64 // model.Fingerprint of its weights, as every model's
	state  *model.State
	logits []float32
}

func newCounter(w *model.Weights) (model.Mamba, error) {
	return &counter{c: w.Config, fp: model.Fingerprint(w), state: model.NewState(w.Config), logits: make([]float32, w.Config.PaddedVocab())}, nil
}

func (m *counter) Config() model.Config { return m.c }
func (m *counter) Forward(tok int) ([]float32, error) {
	if err := model.CheckToken(m.c, tok); err != nil {
		return nil, err
	}
	seen := int(m.state.SSM[0])
	m.state.SSM[0]++
	clear(m.logits)
	m.logits[(tok+1+seen)%m.c.VocabSize] = 1
	return m.logits, nil
}
func (m *counter) State() (*model.State, error) {
	s := m.state.Clone()
	s.Fingerprint = m.fp
	return s, nil
}
func (m *counter) SetState(s *model.State) error {
	if err := s.CheckFor(m.c); err != nil {
		return err
	}
	if err := s.CheckFingerprint(m.fp); err != nil {
		return err
	}
	m.state = s.Clone()
	return nil
}
func (m *counter) Reset() error { m.state = model.NewState(m.c); return nil }
func (m *counter) Close() error { return nil }

func testModel(t *testing.T, vocab int) string {
	t.Helper()
	c := model.Config{NLayers: 1, VocabSize: vocab, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2, TiedHead: true}
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, model.WriteRandomModelBin(path, c, 1))
	return path
}

func runCLI(args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := Run("mamba-test", args, &stdout, &stderr, newCounter)
	return stdout.String(), stderr.String(), err
}

func TestGenerateGreedyStreamsTokensAndReportsSpeed(t *testing.T) {
	path := testModel(t, 100)
	out, errOut, err := runCLI(path, "-tokens", "10,20", "-n", "3", "-t", "0")
	require.NoError(t, err)
	// After 10, 20 (seen 1 before 20): 22; then 22+1+2 = 25; then 25+1+3 = 29.
	assert.Equal(t, "22 25 29\n", out)
	assert.Contains(t, errOut, "prompt: 2 tokens")
	assert.Contains(t, errOut, "generated: 3 tokens")
	assert.Contains(t, errOut, "tok/s")

	// Flags first, model last, works too.
	out, _, err = runCLI("-tokens", "10,20", "-n", "1", "-t", "0", path)
	require.NoError(t, err)
	assert.Equal(t, "22\n", out)
}

func TestGenerationStopsAtEndOfText(t *testing.T) {
	path := testModel(t, 100)
	// 98 → (98+1+0) = 99 → next (99+1+1) % 100 = 1 … but 98,0: feed 98 then 0
	// gives (0+1+1) = 2. Use a prompt whose continuation is 0: 99 → 0.
	out, _, err := runCLI(path, "-tokens", "99", "-n", "5", "-t", "0")
	require.NoError(t, err)
	assert.Equal(t, "", out, "<|endoftext|> ends generation: no text, no line")
	out, _, err = runCLI(path, "-tokens", "99", "-n", "2", "-t", "0", "-ignore-eos")
	require.NoError(t, err)
	assert.Equal(t, "0 2\n", out)
}

func TestSaveAndLoadState(t *testing.T) {
	path := testModel(t, 100)
	state := filepath.Join(t.TempDir(), "state.bin")
	whole, _, err := runCLI(path, "-tokens", "1,2,3,4", "-n", "2", "-t", "0")
	require.NoError(t, err)
	_, _, err = runCLI(path, "-tokens", "1,2,3", "-n", "0", "-save-state", state)
	require.NoError(t, err)
	cont, _, err := runCLI(path, "-tokens", "4", "-n", "2", "-t", "0", "-load-state", state)
	require.NoError(t, err)
	assert.Equal(t, whole, cont, "a saved prompt state continued by the rest of the prompt gives the same tokens")

	other := testModel(t, 90)
	_, _, err = runCLI(other, "-tokens", "4", "-load-state", state)
	require.Error(t, err)
	assert.Contains(t, err.Error(), state)
	assert.Contains(t, err.Error(), "another model")
}

// brokenState is a counter whose State fails, as a GPU's copy back can.
type brokenState struct{ model.Mamba }

func (brokenState) State() (*model.State, error) { return nil, errors.New("device lost") }

func TestSaveStateReportsAFailedState(t *testing.T) {
	path := testModel(t, 100)
	state := filepath.Join(t.TempDir(), "state.bin")
	var stdout, stderr bytes.Buffer
	err := Run("mamba-test", []string{path, "-tokens", "1,2", "-n", "0", "-save-state", state}, &stdout, &stderr,
		func(w *model.Weights) (model.Mamba, error) {
			m, err := newCounter(w)
			return brokenState{m}, err
		})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-save-state "+state+": device lost")
	assert.NoFileExists(t, state, "no state file is written from a failed State")
}

func TestSamplingIsReproducible(t *testing.T) {
	path := testModel(t, 100)
	a, _, err := runCLI(path, "-tokens", "5", "-n", "8", "-t", "1.5", "-s", "42")
	require.NoError(t, err)
	b, _, err := runCLI(path, "-tokens", "5", "-n", "8", "-t", "1.5", "-s", "42")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Len(t, strings.Fields(a), 8)
}

func TestBadInputGivesClearErrors(t *testing.T) {
	path := testModel(t, 100)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{path}, "empty prompt"},
		{[]string{path, "-tokens", ""}, "empty prompt"},
		{[]string{path, "-tokens", ",,"}, `-tokens ",,": entry 0 is empty`},
		{[]string{path, "-tokens", "1,,2"}, `-tokens "1,,2": entry 1 is empty`},
		{[]string{path, "-tokens", ",1"}, `-tokens ",1": entry 0 is empty`},
		{[]string{path, "-tokens", "1,"}, `-tokens "1,": entry 1 is empty`},
		{[]string{path, "-tokens", "+3"}, `"+3" is not a token id (want digits only`},
		{[]string{path, "-tokens", "1,-2"}, `"-2" is not a token id (want digits only`},
		{[]string{path, "-tokens", "1 2"}, `"1 2" is not a token id (want digits only`},
		{[]string{path, "-tokens", "99999999999999999999"}, `"99999999999999999999" is not a token id (value out of range)`},
		{[]string{path, "-tokens", "1,x"}, `"x" is not a token id`},
		{[]string{path, "-tokens", "100"}, "token id 100 out of range [0, 100)"},
		{[]string{path, "-i", "a long text with many tokens", "-z", testTokenizer}, "out of range [0, 100)"},
		{[]string{path, "-i", "hello"}, "-i needs a tokenizer: none found at " + filepath.Join(filepath.Dir(path), "tokenizer.json")},
		{[]string{path, "-i", "", "-z", testTokenizer}, "empty prompt"},
		{[]string{path, "-i", "hello", "-z", "/nonexistent/tok.json"}, "/nonexistent/tok.json"},
		{[]string{path, "-i", "hi", "-tokens", "1"}, "either -i or -tokens"},
		{[]string{path, "-tokens", "1", "-p", "0"}, "top-p"},
		{[]string{path, "-tokens", "1", "-t", "-1"}, "temperature"},
		{[]string{path, "-tokens", "1", "-t", "NaN"}, "temperature"},
		{[]string{path, "-tokens", "1", "-p", "NaN"}, "top-p"},
		{[]string{"-n", "3", path, "-tokens", "1", "-t", "abc"}, `invalid value "abc" for flag -t`},
		{[]string{"-n", "3", path, "-tokens", "1", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{path, "-tokens", "1", "-save-state", path}, "is the model's own file"},
		{[]string{path, "-tokens", "1", "-n", "-2"}, "-n -2"},
		{[]string{path, "-tokens", "1", "-load-state", "/nonexistent/state"}, "no such file"},
		{[]string{"/nonexistent/model.bin", "-tokens", "1"}, "/nonexistent/model.bin"},
		{[]string{}, "no MODEL"},
		{[]string{path, "extra", "-tokens", "1"}, `unexpected argument "extra"`},
	}
	for _, tc := range cases {
		_, _, err := runCLI(tc.args...)
		if assert.Error(t, err, "%v", tc.args) {
			assert.Contains(t, err.Error(), tc.want, "%v", tc.args)
		}
	}
}

// testTokenizer is the project's own small byte-level BPE (about 1000 ids).
var testTokenizer = filepath.Join("..", "tokenizer", "testdata", "tokenizer.json")

func TestTextPromptAndTextOutput(t *testing.T) {
	tok, err := tokenizer.Load(testTokenizer)
	require.NoError(t, err)
	path := testModel(t, tok.VocabSize())
	prompt := tok.Encode("The state")
	require.NotEmpty(t, prompt)

	// The counter model continues with last id + 1 + count: compute what it
	// must print, then run with text in and text out.
	var want []int
	last, seen := prompt[len(prompt)-1], len(prompt)-1
	for i := 0; i < 4; i++ {
		next := (last + 1 + seen) % tok.VocabSize()
		want = append(want, next)
		last, seen = next, seen+1
	}
	out, _, err := runCLI(path, "-i", "The state", "-z", testTokenizer, "-n", "4", "-t", "0", "-ignore-eos")
	require.NoError(t, err)
	assert.Equal(t, tok.Decode(want, false)+"\n", out)

	// A tokenizer.json beside the model is found without -z.
	data, err := os.ReadFile(testTokenizer)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "tokenizer.json"), data, 0o644))
	again, _, err := runCLI(path, "-i", "The state", "-n", "4", "-t", "0", "-ignore-eos")
	require.NoError(t, err)
	assert.Equal(t, out, again)
}

func TestBrokenTokenizerBesideTheModelDoesNotBlockTokenIds(t *testing.T) {
	path := testModel(t, 100)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "tokenizer.json"), []byte("{}"), 0o644))
	out, errOut, err := runCLI(path, "-tokens", "10,20", "-n", "1", "-t", "0")
	require.NoError(t, err)
	assert.Equal(t, "22\n", out)
	assert.Contains(t, errOut, "warning")
	_, _, err = runCLI(path, "-i", "hi")
	assert.ErrorContains(t, err, "tokenizer.json")
}

func TestTokenListAllowsSpacesAroundIDs(t *testing.T) {
	ids, err := parseTokenList(" 10, 20 ,3")
	require.NoError(t, err)
	assert.Equal(t, []int{10, 20, 3}, ids)
}

// -n 0 feeds the prompt and prints nothing: no text, no empty line.
func TestZeroStepsPrintNothing(t *testing.T) {
	path := testModel(t, 100)
	out, errOut, err := runCLI(path, "-tokens", "1,2", "-n", "0")
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, "prompt: 2 tokens"), "%q", errOut)
}

// On a terminal the prompt's progress is drawn on stderr and erased before
// the generated text; stdout gets the text alone.
func TestPromptProgressOnATerminal(t *testing.T) {
	old := newPromptBar
	t.Cleanup(func() { newPromptBar = old })
	newPromptBar = func(w io.Writer) *progress.Bar {
		b := progress.Drawn(w, progress.Count("tokens"))
		b.Every = 0
		return b
	}
	path := testModel(t, 100)
	out, errOut, err := runCLI(path, "-tokens", "10,20,30,40,50", "-n", "2", "-t", "0")
	require.NoError(t, err)
	assert.Regexp(t, `^\d+ \d+\n$`, out)
	assert.True(t, strings.HasPrefix(errOut, "\rprompt  0/5 tokens    0%\x1b[K\rprompt  1/5 tokens   20%\x1b[K"), "%q", errOut)
	assert.Contains(t, errOut, "\rprompt  5/5 tokens  100%\x1b[K\r\x1b[K\nprompt: 5 tokens")

	_, errOut, err = runCLI(path, "-tokens", "10,20", "-n", "1", "-t", "0", "-save-state", filepath.Join(t.TempDir(), "s"))
	require.NoError(t, err)
	assert.Contains(t, errOut, "\rprompt  2/2 tokens  100%\x1b[K\r\x1b[K", "erased before the state is saved and the text begins")
}
