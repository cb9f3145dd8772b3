package generate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/sample"
)

// fakeModel's logits depend on the tokens fed so far, so that generation
// follows a path through the vocabulary.
type fakeModel struct {
	c        model.Config
	sum      int
	logits   []float32
	forwards int
}

func newFake() *fakeModel {
	c := model.Config{NLayers: 1, VocabSize: 13, DModel: 1, DInner: 1, DtRank: 1, DState: 1, DConv: 1}
	return &fakeModel{c: c, logits: make([]float32, c.PaddedVocab())}
}

func (f *fakeModel) Forward(token int) ([]float32, error) {
	f.forwards++
	f.sum = f.sum*7 + token + 1
	for i := range f.logits {
		f.logits[i] = float32((f.sum*31 + i*17) % 23)
	}
	f.logits[f.c.VocabSize] = 1000 // padding: must never be chosen
	return f.logits, nil
}
func (f *fakeModel) Config() model.Config         { return f.c }
func (f *fakeModel) State() (*model.State, error) { return model.NewState(f.c), nil }
func (f *fakeModel) SetState(*model.State) error  { return nil }
func (f *fakeModel) Reset() error                 { f.sum = 0; return nil }
func (f *fakeModel) Close() error                 { return nil }

// argmaxModel adds ForwardArgmax, as cuda.Mamba has it.
type argmaxModel struct {
	*fakeModel
	argmaxes int
}

func (a *argmaxModel) ForwardArgmax(token int) (int, error) {
	a.argmaxes++
	logits, err := a.Forward(token)
	return sample.Argmax(logits[:a.c.VocabSize]), err
}

func collect(t *testing.T, m model.Mamba, temperature float32) []int {
	t.Helper()
	var got []int
	s := sample.New(m.Config().VocabSize, temperature, 0.9, 42)
	_, err := Generate(m, []int{3, 1, 4}, s, Options{Steps: 20, StopToken: -1}, func(id int) error {
		got = append(got, id)
		return nil
	})
	require.NoError(t, err)
	return got
}

func TestGreedyUsesForwardArgmax(t *testing.T) {
	plain := collect(t, newFake(), 0)
	am := &argmaxModel{fakeModel: newFake()}
	assert.Equal(t, plain, collect(t, am, 0), "same tokens through ForwardArgmax")
	assert.Equal(t, 3+19, am.argmaxes, "every feed went through ForwardArgmax")
	assert.Len(t, plain, 20)
	for _, id := range plain {
		assert.Less(t, id, 13, "never a padding id")
	}
}

func TestSamplingIgnoresForwardArgmax(t *testing.T) {
	plain := collect(t, newFake(), 0.8)
	am := &argmaxModel{fakeModel: newFake()}
	assert.Equal(t, plain, collect(t, am, 0.8))
	assert.Zero(t, am.argmaxes, "temperature > 0 samples the logits")
}

// deviceModel has what cuda.Mamba has: Feed for the prompt, and sampling
// on its own side through ForwardSample, drawing its coins from the sampler.
type deviceModel struct {
	*argmaxModel
	feeds, samples int
}

func (d *deviceModel) Feed(token int) error {
	d.feeds++
	_, err := d.Forward(token)
	return err
}

func (d *deviceModel) ForwardSample(token int, s *sample.Sampler) (int, error) {
	d.samples++
	logits, err := d.Forward(token)
	if err != nil {
		return 0, err
	}
	return s.Sample(logits)
}

func TestFeedAndForwardSample(t *testing.T) {
	for _, temp := range []float32{0, 0.8} {
		plain := collect(t, newFake(), temp)
		dm := &deviceModel{argmaxModel: &argmaxModel{fakeModel: newFake()}}
		assert.Equal(t, plain, collect(t, dm, temp), "temperature %g: the same tokens", temp)
		assert.Equal(t, 2, dm.feeds, "the prompt's tokens before the last are fed")
		if temp == 0 {
			assert.Equal(t, 1+19, dm.argmaxes)
			assert.Zero(t, dm.samples)
		} else {
			assert.Equal(t, 1+19, dm.samples)
			assert.Zero(t, dm.argmaxes)
		}
	}
}

// A nil model, sampler or emit function is an error, not a panic.
func TestNilArgumentsAreErrors(t *testing.T) {
	s := sample.New(13, 0, 1, 1)
	emit := func(int) error { return nil }
	_, err := Generate(nil, []int{1}, s, Options{Steps: 1}, emit)
	assert.EqualError(t, err, "generate: no model (nil)")
	_, err = Generate(newFake(), []int{1}, nil, Options{Steps: 1}, emit)
	assert.EqualError(t, err, "generate: no sampler (nil)")
	_, err = Generate(newFake(), []int{1}, s, Options{Steps: 1}, nil)
	assert.EqualError(t, err, "generate: no emit function (nil)")
}
