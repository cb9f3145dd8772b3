package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"mamba.go/common/tokenizer"
)

// mamba tokenize -z tokenizer.json < text  → JSON array of ids
// mamba detokenize -z tokenizer.json [-skip-special] < ids  → text

func init() {
	commands["tokenize"] = command{
		summary: "encode UTF-8 text on stdin, print the token ids as a JSON array (-z tokenizer.json)",
		run:     func(args []string) error { return runTokenize(args, os.Stdin, os.Stdout) },
	}
	commands["detokenize"] = command{
		summary: "decode a JSON array of token ids on stdin, print the text (-z tokenizer.json [-skip-special])",
		run:     func(args []string) error { return runDetokenize(args, os.Stdin, os.Stdout) },
	}
}

// loadFlagTokenizer parses the flags and loads the -z tokenizer.
func loadFlagTokenizer(fs *flag.FlagSet, args []string, synopsis string) (*tokenizer.Tokenizer, error) {
	z := fs.String("z", "", "the tokenizer.json `file`")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), synopsis)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (input is read from stdin)", fs.Arg(0))
	}
	if *z == "" {
		return nil, errors.New("-z TOKENIZER is required (a HuggingFace tokenizer.json)")
	}
	return tokenizer.Load(*z)
}

// runTokenize reads all of in, which must be valid UTF-8 (the tokenizer
// would otherwise replace bad bytes by U+FFFD, silently changing the text),
// and writes its ids as one JSON array and a newline.
func runTokenize(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	tk, err := loadFlagTokenizer(fs, args, "usage: mamba tokenize -z tokenizer.json < text\n\nEncodes stdin, which must be valid UTF-8 (invalid bytes are refused, not\nreplaced; so are they in a prompt of the generators), and prints the ids as\na JSON array.")
	if err != nil {
		return err
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("stdin is not valid UTF-8 (first bad byte at offset %d)", tokenizer.FirstInvalidUTF8(data))
	}
	ids := tk.Encode(string(data))
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// runDetokenize reads one JSON array of ids and writes their text, with no
// newline added. Ids the tokenizer does not have are skipped, as HF does.
func runDetokenize(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("detokenize", flag.ContinueOnError)
	skip := fs.Bool("skip-special", false, "leave out special tokens such as <|endoftext|>")
	tk, err := loadFlagTokenizer(fs, args, "usage: mamba detokenize -z tokenizer.json [-skip-special] < ids\n\nDecodes one JSON array of token ids (integers) on stdin and prints the text.")
	if err != nil {
		return err
	}
	var raw []*int // *int: a null is refused, not read as id 0 (<|endoftext|>)
	dec := json.NewDecoder(in)
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("stdin is not a JSON array of token ids: %v", err)
	}
	ids := make([]int, len(raw))
	for i, id := range raw {
		if id == nil {
			return fmt.Errorf("stdin: entry %d of the array is null, not a token id", i)
		}
		ids[i] = *id
	}
	if dec.More() {
		return errors.New("stdin holds more than one JSON value; expected one array of token ids")
	}
	_, err = io.WriteString(out, tk.Decode(ids, *skip))
	return err
}
