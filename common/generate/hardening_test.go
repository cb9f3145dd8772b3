//go:build unix

package generate

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/memory"
	"mamba.go/common/sample"
)

// nanModel's logits hold a NaN from its nanAt-th Forward on.
type nanModel struct {
	*fakeModel
	nanAt int
}

func (m *nanModel) Forward(token int) ([]float32, error) {
	l, err := m.fakeModel.Forward(token)
	if m.forwards >= m.nanAt {
		l[3] = float32(math.NaN())
	}
	return l, err
}

// A NaN in the logits stops generation with an error that names the token
// position whose logits it is, in every sampling mode.
func TestNonFiniteLogitsNameTheTokenPosition(t *testing.T) {
	for _, mode := range []struct{ temp, topP float32 }{{0, 0.9}, {1, 0.9}, {1, 1}} {
		m := &nanModel{fakeModel: newFake(), nanAt: 4} // prompt of 2, then 2 generated tokens
		var out []int
		_, err := Generate(m, []int{1, 2}, sample.New(13, mode.temp, mode.topP, 1),
			Options{Steps: 10, StopToken: -1}, func(id int) error { out = append(out, id); return nil })
		require.Error(t, err)
		var nf *sample.NonFiniteError
		assert.ErrorAs(t, err, &nf)
		assert.Contains(t, err.Error(), "sampling after token position 3")
		assert.Len(t, out, 2)
	}
}

// nanChooser is nanModel choosing its tokens itself, as cuda.Mamba does on
// the device, refusing a non-finite logit as the sampler does.
type nanChooser struct{ *nanModel }

func (m nanChooser) ForwardArgmax(token int) (int, error) {
	return m.ForwardSample(token, sample.New(m.c.VocabSize, 0, 1, 1))
}

func (m nanChooser) ForwardSample(token int, s *sample.Sampler) (int, error) {
	l, err := m.Forward(token)
	if err != nil {
		return 0, err
	}
	return s.Sample(l)
}

// A model that chooses the token itself (model.ArgmaxForwarder,
// SampleForwarder) and refuses a non-finite logit gets the same error as
// sampling on the host: the token position, and a *sample.NonFiniteError;
// a non-finite choice at a prompt token before the last is never used.
func TestNonFiniteChoiceNamesTheTokenPosition(t *testing.T) {
	for _, mode := range []struct{ temp, topP float32 }{{0, 0.9}, {1, 0.9}, {1, 1}} {
		for _, nanAt := range []int{1, 4} {
			m := nanChooser{&nanModel{fakeModel: newFake(), nanAt: nanAt}} // NaN from prompt token 0, or after 2 generated
			var out []int
			_, err := Generate(m, []int{1, 2, 3}, sample.New(13, mode.temp, mode.topP, 1),
				Options{Steps: 10, StopToken: -1}, func(id int) error { out = append(out, id); return nil })
			require.Error(t, err)
			var nf *sample.NonFiniteError
			require.ErrorAs(t, err, &nf)
			assert.Equal(t, 3, nf.ID)
			if nanAt == 1 {
				assert.Equal(t, "sampling after token position 2: "+nf.Error(), err.Error())
				assert.Empty(t, out)
			} else {
				assert.Equal(t, "sampling after token position 3: "+nf.Error(), err.Error())
				assert.Len(t, out, 1)
			}
		}
	}
}

// mappedModel reads the last page of a memory-mapped file at each Forward,
// as an implementation reads its memory-mapped weights.
type mappedModel struct {
	*fakeModel
	data []byte
}

func (m *mappedModel) Forward(token int) ([]float32, error) {
	m.logits[0] = float32(m.data[len(m.data)-1])
	return m.fakeModel.Forward(token)
}

// A model file truncated while mapped raises SIGBUS at the next read of a
// page past its new end: an error saying so, not the runtime's fatal error.
func TestTruncatedModelFileIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, os.WriteFile(p, make([]byte, 1<<16), 0o644))
	data, closer, err := memory.MapFile(p)
	require.NoError(t, err)
	defer closer.Close()
	m := &mappedModel{fakeModel: newFake(), data: data}
	_, err = Generate(m, []int{1}, sample.New(13, 0, 1, 1), Options{Steps: 1, StopToken: -1}, func(int) error { return nil })
	require.NoError(t, err)

	require.NoError(t, os.Truncate(p, 0))
	_, err = Generate(m, []int{1}, sample.New(13, 0, 1, 1), Options{Steps: 1, StopToken: -1}, func(int) error { return nil })
	require.ErrorIs(t, err, ErrModelFileChanged)
	assert.Contains(t, err.Error(), "prompt token 0: model file changed while in use")
}
