package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

func TestBytesPerToken(t *testing.T) {
	c := model.Shapes["130m"]
	// Every parameter once (the tied head is the embedding: counted once),
	// less the embedding table but one row of it, plus the state twice.
	params := c.NumParams() - int64(c.PaddedVocab()*c.DModel) + int64(c.DModel)
	params += int64(c.PaddedVocab() * c.DModel) // the head
	state := 2 * int64(c.NLayers*c.DInner*(c.DConv+c.DState))
	assert.Equal(t, 4*(params+state), bytesPerToken(c, 4))
	assert.InDelta(t, 522.4e6, float64(bytesPerToken(c, 4)), 0.1e6)

	// Mamba-2 130m: in_proj (3352 rows), conv over 1792 channels, out_proj
	// and the rest, the head once, and a state of 24·(1792·4 + 24·64·128) floats.
	c2 := model.Shapes2["130m"]
	layer := int64(3352*768 + 1792*4 + 1792 + 3*24 + 1536 + 768*1536 + 768)
	floats := 24*layer + 768 + int64(50280*768) + 768
	state2 := int64(2 * 24 * (1792*4 + 24*64*128))
	assert.Equal(t, 4*(floats+state2), bytesPerToken(c2, 4))
	assert.InDelta(t, 18.9e6, float64(4*24*24*64*128), 0.1e6, "the SSM state")
}

func TestBytesPerTokenBF16Products(t *testing.T) {
	// 130m with in_proj, x_proj, dt_proj, out_proj and the head in 2 bytes;
	// conv, biases, A, D, the norms and the state in 4.
	c := model.Shapes["130m"]
	products := int64(3072*768 + 80*1536 + 1536*48 + 768*1536)
	vectors := int64(1536*4 + 1536 + 1536 + 1536*16 + 1536 + 768)
	want := 24*(2*products+4*vectors) + 2*int64(50280*768) + 2*768 + 4*768
	want += 4 * 2 * 24 * int64(1536*(4+16))
	assert.Equal(t, want, bytesPerToken(c, 2))
	assert.InDelta(t, 0.51, float64(bytesPerToken(c, 2))/float64(bytesPerToken(c, 4)), 0.01)
}

func TestPackedBytesPerToken(t *testing.T) {
	// 130m with in_proj, out_proj, the head and the embedding's row in 3.5
	// bytes a weight; x_proj, dt_proj, the vectors and the state in 4.
	c := model.Shapes["130m"]
	packed := int64(3072*768+768*1536)*24 + int64(50280*768) + 768
	assert.Equal(t, bytesPerToken(c, 4)-packed/2, packedBytesPerToken(c))
	assert.InDelta(t, 460.7e6, float64(packedBytesPerToken(c)), 0.1e6)
	assert.InDelta(t, 0.88, float64(packedBytesPerToken(c))/float64(bytesPerToken(c, 4)), 0.01)
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 0.0, median(nil))
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	xs := []float64{3, 1, 2}
	median(xs)
	assert.Equal(t, []float64{3, 1, 2}, xs, "median must not reorder its input")
}

func TestSum(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 1000} {
		b := make([]uint64, n)
		want := uint64(0)
		for i := range b {
			b[i] = uint64(i*i + 1)
			want += b[i]
		}
		assert.Equal(t, want, sum(b), "n %d", n)
	}
}

func TestParseGo(t *testing.T) {
	s, err := parseGo("text\nprompt: 9 tokens, 80.1 tok/s; generated: 128 tokens, 93.5 tok/s\n")
	require.NoError(t, err)
	assert.Equal(t, goStats{promptTokens: 9, genTokens: 128, prompt: 80.1, gen: 93.5}, s)
	_, err = parseGo("mamba-fused: model.bin: no such file\n")
	assert.ErrorContains(t, err, "no tok/s in its output: mamba-fused: model.bin: no such file")
}

func TestParseC(t *testing.T) {
	tps, err := parseC("config: vocab_size=50277 (50280), n_layers=24\nachieved tok/s: 44.155844\n")
	require.NoError(t, err)
	assert.Equal(t, 44.155844, tps)
	_, err = parseC("config: vocab_size=50277\ninvalid magic number: 0\n")
	assert.ErrorContains(t, err, "no `achieved tok/s` in its output: invalid magic number: 0")
	_, err = parseC("achieved tok/s: inf\n")
	assert.ErrorContains(t, err, "too short to time")
}

func TestParseTorch(t *testing.T) {
	out := "prompt: 9 tokens, 30.0 tok/s\ngenerated: [1, 2]\npytorch prefill: 812.5 tok/s (512 tokens, batched projections)\n" +
		"blas: /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\npytorch: 16.0 tok/s\n"
	r, err := parseTorch(out, true)
	require.NoError(t, err)
	assert.Equal(t, torchRun{gen: 16.0, prefill: 812.5, blas: "openblas-pthread/libblas.so.3"}, r)

	noPrefill := strings.Replace(out, "pytorch prefill: 812.5 tok/s (512 tokens, batched projections)\n", "", 1)
	r, err = parseTorch(noPrefill, false)
	require.NoError(t, err)
	assert.Equal(t, 16.0, r.gen)
	_, err = parseTorch(noPrefill, true)
	assert.ErrorContains(t, err, "no `pytorch prefill")
	_, err = parseTorch("Traceback\n", false)
	assert.ErrorContains(t, err, "no `pytorch: X tok/s`")
}

func TestParseThreads(t *testing.T) {
	ts, err := parseThreads("", 2)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, ts)
	ts, err = parseThreads("", 1)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, ts, "one core: one count")
	ts, err = parseThreads("4, 1,4", 2)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 4}, ts)
	_, err = parseThreads("1,0", 2)
	assert.ErrorContains(t, err, `"0" is not a thread count`)
	_, err = parseThreads("two", 2)
	assert.ErrorContains(t, err, `"two" is not a thread count`)
}

func TestCPUFeatures(t *testing.T) {
	assert.Equal(t, "AVX-512 (avx512f)", cpuFeatures(" fpu sse2 avx2 fma avx512f avx512bw"))
	assert.Equal(t, "AVX2+FMA, no AVX-512", cpuFeatures(" fpu sse2 avx2 fma"))
	assert.Equal(t, "AVX2, no FMA", cpuFeatures(" avx2"))
	assert.Equal(t, "no AVX2", cpuFeatures(" fpu sse2 avx"))
	assert.Equal(t, "CPU features unknown", cpuFeatures(""))
}

func TestParseLoadAverage(t *testing.T) {
	l, ok := parseLoadAverage("4.64 6.19 5.48 3/201 19506\n")
	assert.True(t, ok)
	assert.Equal(t, 4.64, l)
	_, ok = parseLoadAverage("")
	assert.False(t, ok)
	_, ok = parseLoadAverage("x 1 2")
	assert.False(t, ok)
}

func TestPeerOf(t *testing.T) {
	assert.Equal(t, "mamba.c-learning", peerOf("learning"))
	assert.Equal(t, "mamba.c-learning", peerOf("mamba.c-learning"))
	assert.Equal(t, "mamba.c-fused", peerOf("fused"))
	assert.Equal(t, "mamba.c-fused", peerOf("fused-bf16"))
	assert.Equal(t, "mamba.c-fused", peerOf("pytorch"))
}

func TestLongPrompt(t *testing.T) {
	ids := strings.Split(longPrompt(512), ",")
	require.Len(t, ids, 512)
	assert.Equal(t, strings.Split(prompt, ","), ids[:9])
	assert.Equal(t, "46", ids[9], "the prompt repeats")
	assert.Equal(t, 46, firstPromptToken())
}

func TestCPromptText(t *testing.T) {
	pieces := [][]byte{[]byte("<|endoftext|>"), []byte("M"), []byte(" the"), {0xE6}}
	text, err := cPromptText(pieces, 1)
	require.NoError(t, err)
	assert.Equal(t, "M", text)
	for _, id := range []int{0, 2, 3, 4, -1} {
		_, err := cPromptText(pieces, id)
		assert.Error(t, err, "id %d", id)
	}
}

func TestOutputPatterns(t *testing.T) {
	m := genRE.FindStringSubmatch("\nprompt: 9 tokens, 80.1 tok/s; generated: 128 tokens, 93.5 tok/s\n")
	assert.Equal(t, []string{"generated: 128 tokens, 93.5 tok/s", "128", "93.5"}, m)
	m = torchRE.FindStringSubmatch("generated: [1, 2]\npytorch prefill: 500.0 tok/s\npytorch: 16.0 tok/s\n")
	assert.Equal(t, "16.0", m[1], "the generation line, not the prefill's")
}
