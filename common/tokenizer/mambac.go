package tokenizer

// mamba.c reads its vocabulary from tokenizer.bin, not tokenizer.json:
//
//	uint32 magic 0x4d62546b, int32 version 1, int32 vocab size,
//	int32 max token length, then for each id in order: int32 length, bytes
//
// all little-endian. It prints a generated token by writing its string as
// is, and encodes a prompt by looking up the prompt's own UTF-8 in the
// vocabulary, so the strings must be the raw bytes each id stands for, not
// the byte-level runes tokenizer.json spells them with ("Ġthe" is " the"):
// the bytes this package's decoder (HF's ByteLevel decoder) gives each id.
// mamba.c's own export script decodes each id alone to text, which turns a
// token holding part of a UTF-8 character into U+FFFD; writing the bytes
// instead keeps a character split over two tokens whole when mamba.c
// prints them one after the other.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

const (
	mambaCMagic   = 0x4d62546b
	mambaCVersion = 1
)

// MambaCPieces returns the bytes of every id from 0 to VocabSize()-1, as
// mamba.c's tokenizer.bin stores them. It fails when an id below
// VocabSize() has no token, or a token has no bytes: mamba.c reads one
// entry per id and cannot read an empty one (its fread of 0 bytes fails).
func (t *Tokenizer) MambaCPieces() ([][]byte, error) {
	n := t.VocabSize()
	if n == 0 {
		return nil, errors.New("the tokenizer has no tokens")
	}
	out := make([][]byte, n)
	for id := range n {
		p := t.pieces[id]
		switch {
		case p == nil:
			return nil, fmt.Errorf("id %d has no token: mamba.c's tokenizer.bin needs every id below %d", id, n)
		case len(p) == 0:
			return nil, fmt.Errorf("id %d is an empty token: mamba.c cannot read one", id)
		}
		out[id] = p
	}
	return out, nil
}

// WriteMambaC writes the tokenizer in mamba.c's tokenizer.bin format.
func (t *Tokenizer) WriteMambaC(w io.Writer) error {
	pieces, err := t.MambaCPieces()
	if err != nil {
		return err
	}
	return EncodeMambaC(w, pieces)
}

// EncodeMambaC writes pieces (the bytes of ids 0, 1, ...) in mamba.c's
// tokenizer.bin format.
func EncodeMambaC(w io.Writer, pieces [][]byte) error {
	maxLen := 0
	for id, p := range pieces {
		if len(p) == 0 {
			return fmt.Errorf("id %d is an empty token: mamba.c cannot read one", id)
		}
		maxLen = max(maxLen, len(p))
	}
	if len(pieces) > math.MaxInt32 || maxLen > math.MaxInt32 {
		return errors.New("too large for tokenizer.bin's int32 fields")
	}
	head := []uint32{mambaCMagic, mambaCVersion, uint32(len(pieces)), uint32(maxLen)}
	if err := binary.Write(w, binary.LittleEndian, head); err != nil {
		return err
	}
	var n [4]byte
	for _, p := range pieces {
		binary.LittleEndian.PutUint32(n[:], uint32(len(p)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// ReadMambaC reads a mamba.c tokenizer.bin: the bytes of each id in order.
// It checks what mamba.c does not: that no token is longer than the
// header's max token length (mamba.c's prompt encoder sizes its buffer by
// it) and that nothing follows the last token.
func ReadMambaC(r io.Reader) ([][]byte, error) {
	var head [4]uint32
	if err := binary.Read(r, binary.LittleEndian, &head); err != nil {
		return nil, fmt.Errorf("tokenizer.bin header: %w", err)
	}
	if head[0] != mambaCMagic {
		return nil, fmt.Errorf("not a mamba.c tokenizer.bin: magic %#x, want %#x", head[0], mambaCMagic)
	}
	if head[1] != mambaCVersion {
		return nil, fmt.Errorf("tokenizer.bin version %d, want %d", head[1], mambaCVersion)
	}
	n, maxLen := head[2], head[3]
	if n == 0 || n > math.MaxInt32 || maxLen > math.MaxInt32 {
		return nil, fmt.Errorf("tokenizer.bin: bad header: %d tokens, max length %d", n, maxLen)
	}
	pieces := make([][]byte, 0, min(n, 1<<20))
	var lenBuf [4]byte
	for id := range n {
		if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
			return nil, fmt.Errorf("tokenizer.bin: id %d: %w", id, err)
		}
		l := binary.LittleEndian.Uint32(lenBuf[:])
		if l == 0 || l > maxLen {
			return nil, fmt.Errorf("tokenizer.bin: id %d has length %d, want 1..%d", id, l, maxLen)
		}
		p := make([]byte, l)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, fmt.Errorf("tokenizer.bin: id %d: %w", id, err)
		}
		pieces = append(pieces, p)
	}
	var extra [1]byte
	if _, err := io.ReadFull(r, extra[:]); err == nil {
		return nil, errors.New("tokenizer.bin: bytes left over after the last token")
	}
	return pieces, nil
}
