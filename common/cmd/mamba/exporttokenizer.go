package main

import (
	"flag"
	"fmt"
	"os"

	"mamba.go/common/atomicfile"
	"mamba.go/common/tokenizer"
)

// mamba export-tokenizer tokenizer.json tokenizer.bin → mamba.c's tokenizer.bin

func init() {
	commands["export-tokenizer"] = command{
		summary: "write a HuggingFace tokenizer.json as mamba.c's tokenizer.bin",
		run:     runExportTokenizer,
	}
}

func runExportTokenizer(args []string) error {
	fs := flag.NewFlagSet("export-tokenizer", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mamba export-tokenizer tokenizer.json OUT.bin")
		fmt.Fprintln(fs.Output(), "\nWrites mamba.c's tokenizer.bin: every id's raw bytes, in id order.")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want tokenizer.json and OUT.bin")
	}
	return exportTokenizer(fs.Arg(0), fs.Arg(1))
}

// exportTokenizer writes src (tokenizer.json) to out (tokenizer.bin),
// atomically: a failed write leaves out as it was.
func exportTokenizer(src, out string) error {
	// Writing over the source would destroy it before it is read again.
	if a, err := os.Stat(src); err == nil {
		if b, err := os.Stat(out); err == nil && os.SameFile(a, b) {
			return fmt.Errorf("%s: refusing to overwrite the source tokenizer.json", out)
		}
	}
	tk, err := tokenizer.Load(src)
	if err != nil {
		return err
	}
	// Check before creating anything, so that a tokenizer mamba.c cannot
	// read leaves no file behind.
	if _, err := tk.MambaCPieces(); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := atomicfile.Write(out, tk.WriteMambaC); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %d tokens\n", out, tk.VocabSize())
	return nil
}
