package fused

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/generate"
	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/common/refcase"
	"mamba.go/common/sample"
	"mamba.go/fused/internal/kernels"
)

// ForwardPrompt against Forward token by token and against the reference
// logits: the same last logits and the same state within compare's
// tolerance, on prompts around the chunk length.

// promptLengths are 1, T−1, T, T+1 and 3T+5 tokens, and n itself, those ≤ n.
func promptLengths(n int) []int {
	var ls []int
	for _, l := range []int{1, promptChunk - 1, promptChunk, promptChunk + 1, 3*promptChunk + 5, n} {
		if l <= n && (len(ls) == 0 || ls[len(ls)-1] < l) {
			ls = append(ls, l)
		}
	}
	return ls
}

// checkPromptCase feeds each prompt length of the case's tokens with
// ForwardPrompt, then a few more with Forward: every position's logits
// within the tolerance of the reference.
func checkPromptCase(t *testing.T, dir string) {
	c, err := refcase.Load(dir)
	require.NoError(t, err)
	w, err := model.LoadModelBin(filepath.Join(dir, "model.bin"))
	require.NoError(t, err)
	defer w.Close()
	tol := refcase.DefaultTol * c.MaxAbsLogit()
	for _, workers := range []int{1, 2, 3} {
		m, err := NewWorkers(w, workers)
		require.NoError(t, err)
		for _, l := range promptLengths(len(c.Tokens)) {
			m.Reset()
			logits, err := m.ForwardPrompt(c.Tokens[:l])
			require.NoError(t, err)
			for i := l - 1; i < min(l+3, len(c.Tokens)); i++ {
				if i >= l {
					logits, err = m.Forward(c.Tokens[i])
					require.NoError(t, err)
				}
				ref := c.Logits.Row(i)
				for j := range ref {
					require.InDelta(t, ref[j], logits[j], tol, "%s: prompt %d, position %d, logit %d, %d workers", c.Name, l, i, j, workers)
				}
			}
		}
		m.Close()
	}
}

func TestPromptProjectCases(t *testing.T) {
	dirs := refcase.Dirs(filepath.Join(refcase.RepoRoot(), "testdata", "cases"))
	if len(dirs) == 0 {
		t.Skip("testdata/cases has no cases: run make testdata")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkPromptCase(t, dir) })
	}
}

func TestPromptSharedCases(t *testing.T) {
	shared := refcase.SharedDir()
	if shared == "" {
		t.Skip("../shared is absent: no HF transformers reference cases")
	}
	for _, dir := range refcase.Dirs(filepath.Join(shared, "reference", "hf-transformers")) {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkPromptCase(t, dir) })
	}
}

// On random models of the real width and of odd widths: ForwardPrompt's
// last logits and state against Forward's, within compare's tolerance, and
// bit-identical whatever the number of workers. With the Go kernels (the
// pure-Go and race builds) only the odd shape: the same code, and the 130m
// width takes a minute there.
func TestPromptMatchesForward(t *testing.T) {
	for name, c := range smallShapes {
		if kernels.Name() == "go" && name != "odd" {
			continue
		}
		w := randomWeights(t, c)
		n := 3*promptChunk + 5
		tokens := make([]int, n)
		for i := range tokens {
			tokens[i] = (i*7919 + 13) % c.VocabSize
		}
		lengths := promptLengths(n)
		// Forward, token by token: the logits and the state after each length.
		wantLogits, wantStates := forwardEach(t, w, tokens)

		var firstLogits map[int][]float32
		for _, workers := range []int{1, 2, 3} {
			m, err := NewWorkers(w, workers)
			require.NoError(t, err)
			logitsOf := map[int][]float32{}
			for _, l := range lengths {
				m.Reset()
				got, err := m.ForwardPrompt(tokens[:l])
				require.NoError(t, err)
				logitsOf[l] = append([]float32(nil), got...)
				want, st := wantLogits[l], wantStates[l]
				maxLogit := 0.0
				for _, v := range want {
					maxLogit = math.Max(maxLogit, math.Abs(float64(v)))
				}
				for j := range want {
					require.InDelta(t, want[j], got[j], refcase.DefaultTol*maxLogit, "%s: prompt %d logit %d, %d workers", name, l, j, workers)
				}
				for i := range st.SSM {
					require.InDelta(t, st.SSM[i], m.state.SSM[i], 1e-4*(1+math.Abs(float64(st.SSM[i]))), "%s: prompt %d ssm state", name, l)
				}
				for i := range st.Conv {
					require.InDelta(t, st.Conv[i], m.state.Conv[i], 1e-4*(1+math.Abs(float64(st.Conv[i]))), "%s: prompt %d conv state", name, l)
				}
			}
			if firstLogits == nil {
				firstLogits = logitsOf
			} else {
				for l, lg := range logitsOf {
					require.Equal(t, firstLogits[l], lg, fmt.Sprintf("%s: prompt %d, %d workers against 1", name, l, workers))
				}
			}
			m.Close()
		}
	}
}

func TestPromptRefusesBadInput(t *testing.T) {
	w := randomWeights(t, smallShapes["odd"])
	m, err := NewWorkers(w, 2)
	require.NoError(t, err)
	_, err = m.ForwardPrompt(nil)
	assert.ErrorContains(t, err, "empty prompt")
	_, err = m.ForwardPrompt([]int{1, 2, 101})
	assert.ErrorContains(t, err, "token id 101 out of range")
	require.NoError(t, m.Close())
	_, err = m.ForwardPrompt([]int{1})
	assert.ErrorIs(t, err, model.ErrClosed)
}

// With a tracer set, ForwardPrompt runs token by token, Mamba-1's and
// Mamba-2's: the tracer sees every token's phases, as with Forward.
func TestPromptWithTracerSeesEveryToken(t *testing.T) {
	for _, c := range []model.Config{smallShapes["odd"], modeltest.OddShapes2[0].Config} {
		m, err := NewWorkers(modeltest.Weights(t, c, 5), 2)
		require.NoError(t, err)
		seen := map[int]int{}
		m.SetTracer(model.TracerFunc(func(pos, layer int, op model.Op, values []float32) {
			if op == model.OpLMHead {
				seen[pos]++
			}
		}))
		_, err = m.ForwardPrompt([]int{1, 2, 3, 4})
		require.NoError(t, err)
		assert.Equal(t, map[int]int{0: 1, 1: 1, 2: 1, 3: 1}, seen, "%v", c.Arch)
		require.NoError(t, m.Close())
	}
}

func TestPromptAllocatesNothingPerChunk(t *testing.T) {
	w := randomWeights(t, smallShapes["odd"])
	m, err := NewWorkers(w, 2)
	require.NoError(t, err)
	defer m.Close()
	tokens := make([]int, 2*promptChunk+1)
	_, err = m.ForwardPrompt(tokens) // makes the chunk's buffers
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := m.ForwardPrompt(tokens); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	allocs = testing.AllocsPerRun(20, func() {
		if _, err := m.Forward(3); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// forwardEach feeds tokens one by one to fused on w (2 workers) and returns
// the logits and the state after each prompt length 1 … len(tokens): what
// ForwardPrompt must reproduce.
func forwardEach(t *testing.T, w *model.Weights, tokens []int) (map[int][]float32, map[int]*model.State) {
	t.Helper()
	ref, err := NewWorkers(w, 2)
	require.NoError(t, err)
	defer ref.Close()
	logits, states := map[int][]float32{}, map[int]*model.State{}
	for i, tok := range tokens {
		l, err := ref.Forward(tok)
		require.NoError(t, err)
		logits[i+1] = append([]float32(nil), l...)
		states[i+1] = ref.state.Clone()
	}
	return logits, states
}

// A prompt fed in pieces, as generate does when it reports the prompt's
// progress (960 tokens a piece), leaves the same state bit for bit and
// generates the same tokens as the whole prompt at once: each token's
// values are summed in the same order wherever its chunk starts.
func TestPromptInPiecesMatchesWhole(t *testing.T) {
	w := randomWeights(t, smallShapes["odd"])
	prompt := modeltest.Tokens(w.Config, 2*960+100)
	run := func(progress func(done, total int64)) ([]int, *model.State) {
		m, err := NewWorkers(w, 2)
		require.NoError(t, err)
		defer m.Close()
		var ids []int
		var s *model.State
		opt := generate.Options{Steps: 4, StopToken: -1, PromptProgress: progress,
			AfterPrompt: func() (err error) { s, err = m.State(); return err }}
		_, err = generate.Generate(m, prompt, sample.New(w.Config.VocabSize, 0, 1, 0), opt,
			func(id int) error { ids = append(ids, id); return nil })
		require.NoError(t, err)
		return ids, s
	}
	pieces := 0
	inPieces, sPieces := run(func(done, total int64) { pieces++ })
	whole, sWhole := run(nil)
	require.Equal(t, 4, pieces, "0, 960, 1920 and all of %d tokens", len(prompt))
	assert.Equal(t, whole, inPieces)
	assert.Equal(t, sWhole, sPieces)
}
