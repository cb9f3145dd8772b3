package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"mamba.go/common/hub"
)

func init() {
	commands["download"] = command{
		summary: "fetch a model (config, weights, tokenizer) from the HuggingFace hub into the HF cache",
		run:     runDownload,
	}
}

func runDownload(args []string) error {
	fs := flag.NewFlagSet("download", flag.ContinueOnError)
	dir := fs.String("dir", "", "put the files in this plain folder instead of the HF cache")
	rev := fs.String("revision", "main", "branch, tag or commit to fetch")
	tok := fs.String("tokenizer", hub.DefaultTokenizerRepo, "repo whose tokenizer.json to fetch when the model has none (\"\" for none)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: mamba download [-dir DIR] [-revision main] REPO_ID

Fetches config.json, the weights (model.safetensors and its shards, else
pytorch_model.bin) and tokenizer.json of a Mamba-1 repo such as
state-spaces/mamba-130m into the HF cache ($HF_HUB_CACHE, else $HF_HOME/hub,
else ~/.cache/huggingface/hub), shared with Python's huggingface_hub.
Interrupted downloads resume. $HF_TOKEN is sent for private or gated repos,
$HF_ENDPOINT replaces https://huggingface.co.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want one repo id")
	}
	repo := fs.Arg(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := hub.NewClient()
	bar := newBar()
	c.Progress = bar.Update
	cache := hub.CacheDir()
	where, err := c.Download(ctx, cache, *dir, repo, *rev, *tok)
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s is in %s\n", repo, where)
	if *dir == "" {
		fmt.Fprintf(stderr, "run it with: mamba-learning %s (any MODEL argument takes the repo id)\n", repo)
	}
	return nil
}
