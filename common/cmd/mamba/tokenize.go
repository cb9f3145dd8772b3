package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"mamba.go/common/cli"
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

// maxTokenizeInput bounds the text tokenize reads: a prompt's bound,
// since what it encodes is a prompt (a variable for tests).
var maxTokenizeInput int64 = cli.MaxPrompt

// runTokenize reads all of in, which must be valid UTF-8 (the tokenizer
// would otherwise replace bad bytes by U+FFFD, silently changing the text)
// and at most maxTokenizeInput bytes, and writes its ids as one JSON array
// and a newline.
func runTokenize(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	tk, err := loadFlagTokenizer(fs, args, fmt.Sprintf("usage: mamba tokenize -z tokenizer.json < text\n\nEncodes stdin, which must be valid UTF-8 (invalid bytes are refused, not\nreplaced; so are they in a prompt of the generators) and at most %s (a\nprompt's limit), and prints the ids as a JSON array.", size(maxTokenizeInput)))
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(in, maxTokenizeInput+1)) // one byte over, to tell
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	if int64(len(data)) > maxTokenizeInput {
		return fmt.Errorf("stdin holds more than %d bytes (%s), the limit of a prompt", maxTokenizeInput, size(maxTokenizeInput))
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
// The array is read an id at a time and its text written as it is decoded,
// so that memory stays the same whatever the array's length; a bad entry
// ends the text with an error, after the text of the entries before it.
func runDetokenize(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("detokenize", flag.ContinueOnError)
	skip := fs.Bool("skip-special", false, "leave out special tokens such as <|endoftext|>")
	tk, err := loadFlagTokenizer(fs, args, "usage: mamba detokenize -z tokenizer.json [-skip-special] < ids\n\nDecodes one JSON array of token ids (integers) on stdin and prints the text,\nas the ids are read: a bad entry stops it, after the text of those before.")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 64<<10)
	d := tk.NewStreamDecoder()
	d.SkipSpecial = *skip
	err = readIDs(in, func(id int) error {
		_, err := w.WriteString(d.Add(id))
		return err
	})
	if err == nil {
		_, err = w.WriteString(d.Flush())
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// readIDs reads one JSON array of integers from in and calls put with each,
// in order. A null is refused, not read as id 0 (<|endoftext|>); so are
// any other value and anything after the array.
func readIDs(in io.Reader, put func(id int) error) error {
	dec := json.NewDecoder(in)
	dec.UseNumber()
	notArray := func(err error) error { return fmt.Errorf("stdin is not a JSON array of token ids: %v", err) }
	tok, err := dec.Token()
	if err != nil {
		return notArray(err)
	}
	if tok != json.Delim('[') {
		return notArray(fmt.Errorf("it starts with %v", tok))
	}
	for i := 0; dec.More(); i++ {
		tok, err := dec.Token()
		if err != nil {
			return notArray(err)
		}
		id, err := tokenID(tok)
		if err != nil {
			return fmt.Errorf("stdin: entry %d of the array is %v", i, err)
		}
		if err := put(id); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return notArray(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("stdin holds more than one JSON value; expected one array of token ids")
	}
	return nil
}

// tokenID is the id that a JSON token of the array stands for: an integer.
func tokenID(tok json.Token) (int, error) {
	switch v := tok.(type) {
	case nil:
		return 0, errors.New("null, not a token id")
	case json.Number:
		id, err := strconv.Atoi(string(v))
		if err != nil {
			return 0, fmt.Errorf("%s, not a token id (an integer)", v)
		}
		return id, nil
	case string:
		return 0, fmt.Errorf("%q, not a token id", v)
	case json.Delim:
		return 0, fmt.Errorf("a nested %v, not a token id", v)
	}
	return 0, fmt.Errorf("%v, not a token id", tok)
}
