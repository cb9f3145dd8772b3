package tokenizer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// The benchmark text: about 4 MB built deterministically from the
// project's corpus and test cases (and the shared vectors' texts when
// ../shared is there): random lines of prose, code, many scripts, numbers
// and white space, with made-up words and numbers mixed in so that the
// word cache also misses. bench/bench.sh writes it to a file for HF's
// benchmark (MAMBA_BENCH_TEXT) so both encode the same bytes.

const benchSize = 4 << 20

var benchOnce struct {
	sync.Once
	text string
}

func benchText(tb testing.TB) string {
	benchOnce.Do(func() { benchOnce.text = buildBenchText(tb) })
	return benchOnce.text
}

func buildBenchText(tb testing.TB) string {
	var pool []string
	add := func(text string) {
		for _, l := range strings.Split(text, "\n") {
			if strings.TrimSpace(l) != "" {
				pool = append(pool, l)
			}
		}
	}
	corpus, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		tb.Fatal(err)
	}
	add(string(corpus))
	texts := func(path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(data), "\n") {
			var c struct {
				Text string `json:"text"`
			}
			if json.Unmarshal([]byte(l), &c) == nil {
				add(c.Text)
			}
		}
	}
	texts("testdata/cases.jsonl")
	if dir, ok := sharedRoot(); ok {
		texts(filepath.Join(dir, "tokenizer", "vectors", "neox_edge_cases.jsonl"))
	}
	syllables := strings.Fields("ka ro mi zu te na shi po lu ve dan tor ex qui ber ith on al")
	r := rand.New(rand.NewPCG(42, 7))
	var b strings.Builder
	for b.Len() < benchSize {
		switch r.IntN(12) {
		case 0:
			fmt.Fprintf(&b, " %d.%03d", r.IntN(1000000), r.IntN(1000))
		case 1:
			b.WriteByte(' ')
			for range 2 + r.IntN(3) {
				b.WriteString(syllables[r.IntN(len(syllables))])
			}
		case 2:
			b.WriteString(strings.Repeat(" ", 1+r.IntN(12)))
		default:
			b.WriteString(pool[r.IntN(len(pool))])
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// benchTokenizer is GPT-NeoX's when ../shared is there, else the small one.
func benchTokenizer(b *testing.B) *Tokenizer {
	if hasShared() {
		return neoxTokenizer(b)
	}
	return smallTokenizer(b)
}

// TestWriteBenchText writes the benchmark text to $MAMBA_BENCH_TEXT.
func TestWriteBenchText(t *testing.T) {
	out := os.Getenv("MAMBA_BENCH_TEXT")
	if out == "" {
		t.Skip("set MAMBA_BENCH_TEXT to write the benchmark text (bench/bench.sh does)")
	}
	text := benchText(t)
	if len(text) < benchSize || !utf8.ValidString(text) {
		t.Fatalf("benchmark text: %d bytes, valid UTF-8 %v", len(text), utf8.ValidString(text))
	}
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkEncode encodes the whole text in one call, cache warm after the
// first round (as HF's is).
func BenchmarkEncode(b *testing.B) {
	tk := benchTokenizer(b)
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tk.Encode(text)
	}
}

// BenchmarkEncodeLines encodes the text line by line.
func BenchmarkEncodeLines(b *testing.B) {
	tk := benchTokenizer(b)
	text := benchText(b)
	lines := strings.SplitAfter(text, "\n")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		for _, l := range lines {
			tk.Encode(l)
		}
	}
}

// BenchmarkEncodeCold empties the word cache before each round.
func BenchmarkEncodeCold(b *testing.B) {
	tk := benchTokenizer(b)
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		b.StopTimer()
		tk.cache = newWordCache(cacheEntries)
		b.StartTimer()
		tk.Encode(text)
	}
}

func BenchmarkDecode(b *testing.B) {
	tk := benchTokenizer(b)
	text := benchText(b)
	ids := tk.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tk.Decode(ids, false)
	}
}
