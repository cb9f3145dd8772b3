package fused_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"mamba.go/common/generate"
	"mamba.go/common/load"
	"mamba.go/common/model"
	"mamba.go/common/sample"
	"mamba.go/common/tokenizer"
	"mamba.go/fused"
)

// Example runs a model from Go: open it, tokenize, generate greedily, and
// save the state a prefix leaves so that two continuations start from it
// without feeding the prefix again. The model is the project's small random
// test model (testdata/cases/default) and the tokenizer its small test
// vocabulary, so the text is noise; load.Open takes a real checkpoint
// folder, a model.bin or a downloaded HF repo id such as
// state-spaces/mamba-130m the same way (load.Tokenizer finds its
// tokenizer.json).
func Example() {
	w, err := load.Open("../testdata/cases/default/model.bin")
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	m, err := fused.New(w) // or learning.New(w), or cuda.New(w) on a GPU
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.Load("../common/tokenizer/testdata/tokenizer.json")
	if err != nil {
		log.Fatal(err)
	}
	greedy := sample.New(w.Config.VocabSize, 0, 1, 0) // temperature 0: argmax
	noEmit := func(int) error { return nil }

	// Feed the prefix (Steps 0: nothing generated) and save its state: the
	// whole context in a few KB, whatever the prefix's length.
	if _, err := generate.Generate(m, tok.Encode("The state"), greedy, generate.Options{StopToken: -1}, noEmit); err != nil {
		log.Fatal(err)
	}
	s, err := m.State()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mamba-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "prefix.state")
	if err := model.SaveState(path, s); err != nil {
		log.Fatal(err)
	}

	for _, text := range []string{" of", " is"} {
		s, err := model.LoadState(path, w.Config)
		if err != nil {
			log.Fatal(err)
		}
		if err := m.SetState(s); err != nil { // refused if s came from other weights
			log.Fatal(err)
		}
		var ids []int
		opt := generate.Options{Steps: 6, StopToken: -1}
		if _, err := generate.Generate(m, tok.Encode(text), greedy, opt, func(id int) error {
			ids = append(ids, id)
			return nil
		}); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q → %v %+q\n", "The state"+text, ids, tok.Decode(ids, true))
	}
	// Output:
	// "The state of" → [424 424 374 413 4 167] "\ufffd\ufffd spaceges\x02\ufffd"
	// "The state is" → [336 164 199 508 267 207] " model\ufffd\ufffd\u043bes\ufffd"
}
