// Command mamba is the project's toolbox: each subcommand lives in its own
// file and registers itself in commands.
//
//	mamba tokenize -z tokenizer.json < text    → JSON array of ids
//	mamba detokenize -z tokenizer.json < ids   → text
//	mamba download REPO_ID [-dir DIR]          → the HF cache (or DIR)
//	mamba export MODEL OUT.bin                 → mamba.c's model.bin
//	mamba export-tokenizer tokenizer.json OUT.bin → mamba.c's tokenizer.bin
//	mamba random-model -shape 130m OUT.bin     → random weights, for benchmarks
//	mamba random-model -format hf -dtype BF16 -shape falcon-mamba-7b DIR → the same as an HF folder
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mamba COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0 // the longest name, so that the summaries line up
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nmamba COMMAND -h describes a command.")
}

// parseFlags parses a command's flags: -h prints fs.Usage to stdout and
// returns flag.ErrHelp (main then exits 0); a bad flag is returned as a
// one-line error, without the usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stdout)
		fs.Usage()
	}
	fs.SetOutput(os.Stderr)
	return err
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "mamba: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the flag set printed the usage
		}
		fmt.Fprintf(os.Stderr, "mamba %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
