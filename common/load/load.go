// Package load opens a model from whatever the user names: a mamba.c
// model.bin file, a checkpoint folder (config.json with model.safetensors,
// its shards, or pytorch_model.bin), or a HuggingFace repo id such as
// state-spaces/mamba-130m found in the HF cache.
package load

import (
	"fmt"
	"os"
	"path/filepath"

	"mamba.go/common/checkpoint"
	"mamba.go/common/hub"
	"mamba.go/common/model"
)

// Open loads the model that path names (see Resolve), as float32.
func Open(path string) (*model.Weights, error) {
	w, _, err := OpenAs(path, Float32)
	return w, err
}

// Resolve turns what the user named into a local model.bin file or
// checkpoint folder. A path that exists wins: a file is a model.bin, except
// that a checkpoint's own files (config.json, model.safetensors,
// pytorch_model.bin, ...) stand for their folder; a folder is a checkpoint
// if it has config.json, else its model.bin. Otherwise an owner/name repo
// id is looked up in the HF cache (main's snapshot).
func Resolve(path string) (string, error) {
	st, err := os.Stat(path)
	if err == nil {
		if !st.IsDir() {
			switch filepath.Base(path) {
			case checkpoint.ConfigFile, checkpoint.SafetensorsFile, checkpoint.ShardIndexFile, checkpoint.PyTorchFile:
				return filepath.Dir(path), nil
			}
			if m, _ := filepath.Match("model-*-of-*.safetensors", filepath.Base(path)); m {
				return filepath.Dir(path), nil
			}
			return path, nil
		}
		if checkpoint.IsCheckpointDir(path) {
			return path, nil
		}
		if mb := filepath.Join(path, "model.bin"); fileExists(mb) {
			return mb, nil
		}
		if err := unreadableEntry(path, checkpoint.ConfigFile, "model.bin"); err != nil {
			return "", fmt.Errorf("model %s: %w", path, err)
		}
		return "", fmt.Errorf("model %s: a folder without config.json or model.bin", path)
	}
	if !os.IsNotExist(err) || !hub.ValidRepoID(path) {
		return "", fmt.Errorf("model %s: %w", path, err)
	}
	snap, serr := hub.Snapshot(hub.CacheDir(), path, "main")
	if serr != nil {
		return "", fmt.Errorf("model %s: no such file, and %w", path, serr)
	}
	return snap, nil
}

// unreadableEntry says why one of names in dir is there but cannot be
// opened (a symlink loop, a dangling link, no permission), so that such a
// folder is not reported as one without those files.
func unreadableEntry(dir string, names ...string) error {
	for _, name := range names {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err != nil {
			continue // not there at all
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is there but cannot be read: %w", name, err)
		}
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// neoxPaddedVocab is the padded vocabulary of every state-spaces Mamba:
// GPT-NeoX-20B's 50277 tokens rounded up to 50280.
const neoxPaddedVocab = 50280

// Tokenizer finds the tokenizer.json that goes with a model of config c: one
// beside the model (in its folder or snapshot), else — only for a model with
// GPT-NeoX-20B's vocabulary, as every state-spaces Mamba has — that
// tokenizer from the HF cache. ok is false when neither is there; path is
// then where one was looked for beside the model.
func Tokenizer(path string, c model.Config) (string, bool) {
	p, err := Resolve(path)
	if err == nil {
		dir := p
		if !checkpoint.IsCheckpointDir(p) {
			dir = filepath.Dir(p)
		}
		beside := filepath.Join(dir, "tokenizer.json")
		if fileExists(beside) {
			return beside, true
		}
		path = beside
	}
	if c.PaddedVocab() == neoxPaddedVocab {
		if t, ok := hub.CachedFile(hub.CacheDir(), hub.DefaultTokenizerRepo, "tokenizer.json"); ok {
			return t, true
		}
	}
	return path, false
}

// ModelFileAt reports which of the model's files path is, if any: the
// model.bin itself, or any file of its checkpoint folder. Writers of
// outputs (export, -save-state) refuse such a path, since writing it would
// destroy the model they read. modelPath is what Resolve returned.
func ModelFileAt(path, modelPath string) (string, bool) {
	out, err := os.Stat(path)
	if err != nil {
		return "", false // does not exist yet
	}
	files := []string{modelPath}
	if entries, err := os.ReadDir(modelPath); err == nil {
		for _, e := range entries {
			files = append(files, filepath.Join(modelPath, e.Name()))
		}
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && os.SameFile(out, st) {
			return f, true
		}
	}
	return "", false
}
