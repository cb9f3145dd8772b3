package tokenizer

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpt2Bytes is GPT-2's bytes_to_unicode inverted, written out again here
// from its definition so that the test does not check the package's byte
// table against itself.
func gpt2Bytes() map[rune]byte {
	m := map[rune]byte{}
	n := 0
	for b := 0; b < 256; b++ {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			m[rune(b)] = byte(b)
		} else {
			m[rune(256+n)] = byte(b)
			n++
		}
	}
	return m
}

// wantPiece is the raw bytes of id as HF's ByteLevel decoder gives them:
// the bytes its token's byte-level runes stand for, or, for an added token
// with a rune outside that alphabet (plain text such as "Ω"), its UTF-8.
func wantPiece(t *testing.T, tok *Tokenizer, id int, inv map[rune]byte) []byte {
	t.Helper()
	s, ok := tok.Token(id)
	require.True(t, ok, "id %d", id)
	var out []byte
	for _, r := range s {
		b, ok := inv[r]
		if !ok {
			_, added := tok.added[id]
			require.True(t, added, "id %d: rune %U is not byte-level", id, r)
			return []byte(s)
		}
		out = append(out, b)
	}
	return out
}

func checkMambaCRoundTrip(t *testing.T, path string) {
	tok, err := Load(path)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, tok.WriteMambaC(&buf))

	raw := buf.Bytes()
	assert.Equal(t, uint32(0x4d62546b), binary.LittleEndian.Uint32(raw[0:]), "magic")
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(raw[4:]), "version")
	assert.Equal(t, uint32(tok.VocabSize()), binary.LittleEndian.Uint32(raw[8:]), "vocab size")

	pieces, err := ReadMambaC(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Len(t, pieces, tok.VocabSize())
	inv := gpt2Bytes()
	maxLen := 0
	for id, p := range pieces {
		require.Equal(t, wantPiece(t, tok, id, inv), p, "id %d", id)
		maxLen = max(maxLen, len(p))
	}
	assert.Equal(t, uint32(maxLen), binary.LittleEndian.Uint32(raw[12:]), "max token length")

	// mamba.c prints a generation piece by piece: the pieces of an
	// encoded text, joined, must read as the project's decoder reads the
	// ids (which is HF's).
	for _, text := range roundTripTexts {
		ids := tok.Encode(text)
		assert.Equal(t, tok.Decode(ids, false), lossyString(joinPieces(pieces, ids)), "%q", text)
	}
}

var roundTripTexts = []string{"Mamba is a state space model", "naïve café — 日本語 🐍\n\ttabs", "<|endoftext|> after"}

func joinPieces(pieces [][]byte, ids []int) []byte {
	var out []byte
	for _, id := range ids {
		out = append(out, pieces[id]...)
	}
	return out
}

func TestMambaCRoundTripSmall(t *testing.T) {
	checkMambaCRoundTrip(t, filepath.Join("testdata", "tokenizer.json"))
}

func TestMambaCRoundTripGPTNeoX(t *testing.T) {
	path := filepath.Join(sharedDir(t), "tokenizer", "gpt-neox-20b.tokenizer.json")
	checkMambaCRoundTrip(t, path)
	tok, err := Load(path)
	require.NoError(t, err)
	pieces, err := tok.MambaCPieces()
	require.NoError(t, err)
	require.Len(t, pieces, 50277, "the Mamba models' vocab size")
	assert.Equal(t, " the", string(pieces[253]))
	assert.Equal(t, "<|endoftext|>", string(pieces[0]))
	assert.Equal(t, []byte{0xE6}, pieces[162], "a token holding part of a character is its raw byte, not U+FFFD")
	// GPT-NeoX's vocabulary is all byte-level, so mamba.c, printing the
	// raw pieces one after the other, prints the text itself.
	for _, text := range roundTripTexts {
		assert.Equal(t, text, string(joinPieces(pieces, tok.Encode(text))))
	}
}

func TestMambaCRefusesHoles(t *testing.T) {
	m := minimal()
	m["added_tokens"].([]any)[0].(map[string]any)["id"] = 260 // 258 and 259 have no token
	tok, err := parseMap(t, m)
	require.NoError(t, err)
	err = tok.WriteMambaC(&bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "id 258 has no token")
}

func TestEncodeMambaCRefusesEmptyToken(t *testing.T) {
	err := EncodeMambaC(&bytes.Buffer{}, [][]byte{[]byte("a"), {}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "id 1 is an empty token")
}

func TestReadMambaCRefusesBadFiles(t *testing.T) {
	var good bytes.Buffer
	require.NoError(t, EncodeMambaC(&good, [][]byte{[]byte("a"), []byte("bcd")}))
	pieces, err := ReadMambaC(bytes.NewReader(good.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("a"), []byte("bcd")}, pieces)

	edit := func(off int, v uint32) []byte {
		b := bytes.Clone(good.Bytes())
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"magic":     {edit(0, 0x4d616d62), "not a mamba.c tokenizer.bin"},
		"version":   {edit(4, 2), "version 2"},
		"no tokens": {edit(8, 0), "bad header"},
		"too long":  {edit(12, 2), "id 1 has length 3, want 1..2"},
		"truncated": {good.Bytes()[:good.Len()-1], "id 1"},
		"extra":     {append(bytes.Clone(good.Bytes()), 0), "left over"},
		"header":    {good.Bytes()[:10], "header"},
	} {
		_, err := ReadMambaC(bytes.NewReader(c.data))
		if assert.Error(t, err, name) {
			assert.True(t, strings.Contains(err.Error(), c.want), "%s: %v", name, err)
		}
	}
}
