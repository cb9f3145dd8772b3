package main

import (
	"flag"
	"fmt"
	"io"

	"mamba.go/common/checkpoint"
	"mamba.go/common/load"
	"mamba.go/common/model"
)

func init() {
	commands["export"] = command{
		summary: "write mamba.c's model.bin from a checkpoint folder, an HF repo id in the cache, or a model.bin",
		run:     runExport,
	}
}

func runExport(args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mamba export SRC OUT.bin\n\nSRC is a checkpoint folder (config.json + model.safetensors or pytorch_model.bin),\nan HF repo id in the HF cache (state-spaces/mamba-130m), or a model.bin.\nAn existing OUT.bin is overwritten, atomically: it is replaced only once the\nnew file is whole (a symlink's target is replaced). A device, a named pipe\nor a folder at OUT.bin, and the source's own files, are refused.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want SRC and OUT.bin")
	}
	src, out := fs.Arg(0), fs.Arg(1)
	p, err := load.Resolve(src)
	if err != nil {
		return err
	}
	var total int64
	var encode func(w io.Writer) error
	if checkpoint.IsCheckpointDir(p) {
		ck, err := checkpoint.Open(p)
		if err != nil {
			return err
		}
		defer ck.Close()
		total, encode = ck.ModelBinSize(), ck.WriteModelBin
		fmt.Fprintf(stderr, "%s (%s config, %v): %s\n", p, ck.Config.Dialect, ck.Config.Config, ck.Files)
	} else {
		w, err := model.LoadModelBin(p)
		if err != nil {
			return err
		}
		defer w.Close()
		total = model.ModelBinHeaderSize + 4*w.Config.NumParams()
		encode = func(out io.Writer) error { return model.EncodeModelBin(out, w) }
	}
	if f, ok := load.ModelFileAt(out, p); ok {
		return fmt.Errorf("%s: refusing to overwrite the source's %s", out, f)
	}
	return writeReporting(out, total, encode)
}
