// Command mamba is the project's toolbox: each subcommand lives in its own
// file and registers itself in commands.
//
//	mamba tokenize -z tokenizer.json < text   → JSON array of ids
//	mamba detokenize -z tokenizer.json < ids  → text
package main

import (
	"fmt"
	"os"
	"sort"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: mamba COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", n, commands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "mamba: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "mamba %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
