package tokenizer

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTrace prints how a text is encoded, step by step, for
// docs/tokenizer.md:
//
//	MAMBA_TOKENIZER_TRACE="some text" go test -run Trace -v ./tokenizer/
func TestTrace(t *testing.T) {
	text := os.Getenv("MAMBA_TOKENIZER_TRACE")
	if text == "" {
		t.Skip("set MAMBA_TOKENIZER_TRACE to a text to trace")
	}
	tk := benchTokenizerT(t)
	fmt.Printf("text: %q\n", text)
	norm := text
	if tk.normalize != nil {
		norm = tk.normalize(text)
	}
	fmt.Printf("normalized: %q\n", norm)
	var traced []int
	for _, w := range PreTokenize(norm) {
		fmt.Printf("\npre-token %q  byte-level %q\n", w, byteLevelString(w))
		sym := tk.model.initial(nil, w)
		fmt.Printf("  start: %s\n", spell(tk, sym))
		for len(sym) > 1 {
			best, rank := -1, noRank
			for i := 0; i+1 < len(sym); i++ {
				if mg := tk.model.pairRank(sym[i], sym[i+1]); mg.rank < rank {
					best, rank = i, mg.rank
				}
			}
			if best < 0 {
				break
			}
			a, _ := tk.Token(int(sym[best]))
			b, _ := tk.Token(int(sym[best+1]))
			sym[best] = tk.model.pairRank(sym[best], sym[best+1]).id
			sym = append(sym[:best+1], sym[best+2:]...)
			fmt.Printf("  merge #%d %q + %q: %s\n", rank, a, b, spell(tk, sym))
		}
		fmt.Printf("  ids: %v\n", sym)
		for _, id := range sym {
			traced = append(traced, int(id))
		}
	}
	ids := tk.Encode(text)
	fmt.Printf("\nEncode: %v\n", ids)
	if len(tk.raw.split(text, nil)) == 1 && len(tk.normed.split(norm, nil)) == 1 {
		// Without added tokens in the text, the trace must be what Encode does.
		require.Equal(t, ids, traced)
	}
}

func spell(tk *Tokenizer, ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i], _ = tk.Token(int(id))
	}
	return strings.Join(parts, " · ")
}

func benchTokenizerT(t *testing.T) *Tokenizer {
	if hasShared() {
		return neoxTokenizer(t)
	}
	return smallTokenizer(t)
}
