package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer is the file's "normalizer": nil means none.
type normalizer func(string) string

// parseNormalizer understands null, the four Unicode normal forms and a
// Sequence of them; anything else is refused rather than ignored.
func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var spec struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("normalizer: %v", err)
	}
	switch spec.Type {
	case "NFC":
		return nfcHF, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Sequence":
		var steps []normalizer
		for _, r := range spec.Normalizers {
			n, err := parseNormalizer(r)
			if err != nil {
				return nil, err
			}
			if n != nil {
				steps = append(steps, n)
			}
		}
		if len(steps) == 0 {
			return nil, nil
		}
		return func(s string) string {
			for _, n := range steps {
				s = n(s)
			}
			return s
		}, nil
	}
	return nil, fmt.Errorf("normalizer type %q is not supported (only NFC, NFD, NFKC, NFKD and Sequence)", spec.Type)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// nfcHF is NFC as HF tokenizers computes it. HF's tables are those of an old
// Unicode version: the code points of hfNormUnknown (unicode_table.go, read
// from HF by testdata/unicode.js), marks and composites of later versions,
// are plain starters to it, with no combining class and no composition. So
// the text is cut at each of them and the pieces are normalized apart.
func nfcHF(s string) string {
	if norm.NFC.QuickSpanString(s) == len(s) {
		return s
	}
	var b []byte
	start := 0
	for i := 0; i < len(s); {
		if s[i] < 0xCC { // below the lead bytes of U+0300
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if !normUnknown(r) {
			i += w
			continue
		}
		b = norm.NFC.AppendString(b, s[start:i])
		b = append(b, s[i:i+w]...)
		i += w
		start = i
	}
	if start == 0 {
		return norm.NFC.String(s)
	}
	return string(norm.NFC.AppendString(b, s[start:]))
}

func normUnknown(r rune) bool {
	if r < hfNormUnknown[0] {
		return false
	}
	_, found := slices.BinarySearch(hfNormUnknown[:], r)
	return found
}
