// Package checkpoint reads Mamba-1, Mamba-2 and Falcon-Mamba checkpoints as
// people have them, without Python: a folder with config.json (state-spaces
// or transformers dialect)
// and either pytorch_model.bin (PyTorch's zip pickle) or model.safetensors
// (or shards listed in model.safetensors.index.json). It loads them as
// model.Weights (F32 safetensors and uncompressed pickles as zero-copy views
// of the mapped files) and streams them as mamba.c's model.bin.
package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"mamba.go/common/internal/safefile"
	"mamba.go/common/memory"
	"mamba.go/common/model"
)

// Weight file names, in the order they are looked for.
const (
	ShardIndexFile  = "model.safetensors.index.json"
	SafetensorsFile = "model.safetensors"
	PyTorchFile     = "pytorch_model.bin"
	ConfigFile      = "config.json"
)

// Checkpoint is an opened checkpoint folder: its config and the location of
// every tensor. Nothing is read until Weights or WriteModelBin.
type Checkpoint struct {
	Dir    string
	Config ModelConfig
	Files  []string // the weight files, base names
	// NegExp computes A = −exp(A_log): PyTorch's rounding (NegExp) unless
	// set, e.g. to NegExpNumPy to reproduce a model.bin written with NumPy.
	NegExp func(float32) float32
	// BF16: Weights keeps the products' weights, the embedding and the
	// head as bfloat16 (model.Weights.BF16): BF16 tensors as views of the
	// mapped files, others narrowed. A bfloat16 checkpoint then takes half
	// the memory it would take as float32, and no time to convert.
	BF16 bool

	sources []*source
	byName  map[string]*tensor // by canonical name
	slots   []slot             // model.bin order
	tiedLM  *tensor            // an lm_head.weight that the config ties to the embedding
}

// IsCheckpointDir reports whether dir looks like a checkpoint folder.
func IsCheckpointDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil
}

// Load opens the checkpoint in dir and returns its weights; closing them
// closes the checkpoint.
func Load(dir string) (*model.Weights, error) {
	ck, err := Open(dir)
	if err != nil {
		return nil, err
	}
	w, err := ck.Weights()
	if err != nil {
		ck.Close()
		return nil, err
	}
	w.SetCloser(ck)
	return w, nil
}

// Open reads config.json and indexes the tensors of the weight files,
// checking that every tensor the model needs is there with the right shape
// and a supported dtype.
func Open(dir string) (*Checkpoint, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	data, err := safefile.ReadFile(cfgPath, maxConfig)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %s: %w", dir, ConfigFile, err)
	}
	mc, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	ck := &Checkpoint{Dir: dir, Config: mc, NegExp: NegExp, byName: map[string]*tensor{}}
	if err := ck.openWeights(); err != nil {
		ck.Close()
		return nil, err
	}
	if err := ck.plan(); err != nil {
		ck.Close()
		return nil, err
	}
	return ck, nil
}

// Close closes the weight files; weights loaded from them must not be used after.
func (ck *Checkpoint) Close() error {
	var errs []error
	for _, s := range ck.sources {
		errs = append(errs, s.Close())
	}
	ck.sources = nil
	return errors.Join(errs...)
}

// FileMapped reports whether b lies in the mapping of one of the
// checkpoint's files (model.FileMaps): the weights that are views of them.
func (ck *Checkpoint) FileMapped(b []byte) bool {
	for _, s := range ck.sources {
		if s.fileMapped(b) {
			return true
		}
	}
	return false
}

// Size limits of the small JSON files, read whole: a Mamba config.json is
// under 1 KB, a shard index a few KB (one line per tensor).
const (
	maxConfig     = 1 << 20
	maxShardIndex = 16 << 20
)

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (ck *Checkpoint) openWeights() error {
	path := func(name string) string { return filepath.Join(ck.Dir, name) }
	var open func(string) (*source, []*tensor, error)
	var files []string
	var shardOf map[string]string
	switch {
	case exists(path(ShardIndexFile)):
		data, err := safefile.ReadFile(path(ShardIndexFile), maxShardIndex)
		if err != nil {
			return fmt.Errorf("%s: %w", path(ShardIndexFile), err)
		}
		if shardOf, err = readShardIndex(path(ShardIndexFile), data); err != nil {
			return err
		}
		for _, f := range shardOf {
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
		sort.Strings(files)
		open = openSafetensors
	case exists(path(SafetensorsFile)):
		files, open = []string{SafetensorsFile}, openSafetensors
	case exists(path(PyTorchFile)):
		files, open = []string{PyTorchFile}, openPyTorch
	default:
		return fmt.Errorf("checkpoint %s: no %s, %s or %s", ck.Dir, SafetensorsFile, ShardIndexFile, PyTorchFile)
	}
	ck.Files = files
	for _, f := range files {
		src, ts, err := open(path(f))
		if err != nil {
			return err
		}
		ck.sources = append(ck.sources, src)
		for _, t := range ts {
			if shardOf != nil && shardOf[t.name] != f {
				return fmt.Errorf("%s: holds tensor %q, which %s places in %q", src.path, t.name, ShardIndexFile, shardOf[t.name])
			}
			cn := canonical(t.name)
			if prev, dup := ck.byName[cn]; dup {
				return fmt.Errorf("%s: tensor %q is also in %s as %q", src.path, t.name, prev.src.path, prev.name)
			}
			ck.byName[cn] = t
		}
	}
	for name, f := range shardOf {
		if _, ok := ck.byName[canonical(name)]; !ok {
			return fmt.Errorf("%s: tensor %q is missing (%s places it there)", path(f), name, ShardIndexFile)
		}
	}
	return nil
}

// slot is one tensor of model.bin: where its values come from.
type slot struct {
	t      *tensor // nil: all zeros (an absent conv bias)
	take   int     // values taken from t; the remaining n-take are zeros (vocabulary padding)
	n      int     // values in model.bin
	negExp bool    // A_log → A = −exp(A_log)
	set    func(w *model.Weights, v []float32)
	set16  func(w *model.Weights, v []uint16) // a tensor that can be kept as bfloat16; nil: always float32
}

func (ck *Checkpoint) describe() string {
	return filepath.Join(ck.Dir, strings.Join(ck.Files, ","))
}

// plan checks every tensor the model needs and lays them out in model.bin order.
func (ck *Checkpoint) plan() error {
	mc := ck.Config
	c := mc.Config
	if err := checkUnknown(mc, ck.byName); err != nil {
		return err
	}
	get := func(name string, optional bool, shape ...int) (*tensor, error) {
		t, ok := ck.byName[name]
		if !ok {
			if optional {
				return nil, nil
			}
			return nil, fmt.Errorf("%s: tensor backbone.%s is missing", ck.describe(), name)
		}
		if err := checkLoadable(t.dtype); err != nil {
			return nil, fmt.Errorf("%s: %w", t.where(), err)
		}
		if shape != nil && !slices.Equal(t.shape, shape) {
			return nil, fmt.Errorf("%s: shape %v, want %v for %s", t.where(), t.shape, shape, c)
		}
		return t, nil
	}
	pv := c.PaddedVocab()
	lo, hi := mc.VocabRows()
	// vocab takes the embedding or the head: VocabRows rows; rows past the
	// padded vocabulary are dropped, missing padding rows are zeros.
	vocab := func(name string, optional bool, set func(*model.Weights, []float32), set16 func(*model.Weights, []uint16)) (*tensor, error) {
		t, err := get(name, optional)
		if t == nil || err != nil {
			return t, err
		}
		if len(t.shape) != 2 || t.shape[1] != c.DModel {
			return nil, fmt.Errorf("%s: shape %v, want [%d..%d, %d] for %s", t.where(), t.shape, lo, hi, c.DModel, c)
		}
		if rows := t.shape[0]; rows < lo || rows > hi {
			return nil, fmt.Errorf("%s: shape %v: %d rows, but %s's vocab_size %d wants %d..%d (the vocabulary and its padding): the config and the weights disagree on the vocabulary",
				t.where(), t.shape, rows, ConfigFile, c.VocabSize, lo, hi)
		}
		ck.slots = append(ck.slots, slot{t: t, take: min(t.shape[0], pv) * c.DModel, n: pv * c.DModel, set: set, set16: set16})
		return t, nil
	}
	emb, err := vocab("embedding.weight", false, func(w *model.Weights, v []float32) { w.Embedding = v },
		func(w *model.Weights, v []uint16) { w.EmbeddingBF16 = v })
	if err != nil {
		return err
	}
	d := c.DModel
	kinds, shapes := layerPlan(c)
	for j, kind := range kinds {
		for i := range c.NLayers {
			name := layerName(i, kind)
			optional := kind == "mixer.conv1d.bias" && !mc.ConvBias
			t, err := get(name, optional, shapes[kind]...)
			if err != nil {
				return err
			}
			n, _ := numelOf(shapes[kind]) // sizes the config validated
			s := slot{t: t, n: n, negExp: kind == "mixer.A_log", set: layerSetter(i, j)}
			if (&model.Layer{}).Tensors(c)[j].BF16 != nil {
				s.set16 = layerSetterBF16(i, j)
			}
			if t != nil {
				s.take = s.n
			}
			ck.slots = append(ck.slots, s)
		}
	}
	if _, err := get("norm_f.weight", false, d); err != nil {
		return err
	}
	ck.slots = append(ck.slots, slot{t: ck.byName["norm_f.weight"], take: d, n: d,
		set: func(w *model.Weights, v []float32) { w.NormF = v }})
	if c.TiedHead {
		lm, err := get("lm_head.weight", true)
		if err != nil {
			return err
		}
		if lm != nil {
			if !slices.Equal(lm.shape, emb.shape) {
				return fmt.Errorf("%s: shape %v differs from the embedding's %v, but the config ties them", lm.where(), lm.shape, emb.shape)
			}
			if lm.src != emb.src || lm.off != emb.off || lm.entry != emb.entry || lm.dtype != emb.dtype {
				ck.tiedLM = lm
			}
		}
	} else if _, err := vocab("lm_head.weight", false, func(w *model.Weights, v []float32) { w.LMHead = v },
		func(w *model.Weights, v []uint16) { w.LMHeadBF16 = v }); err != nil {
		return err
	}
	return nil
}

// layerSetter puts a loaded tensor into layer i's j-th tensor of
// model.Layer.Tensors, which layerPlan lists in the same order.
func layerSetter(i, j int) func(*model.Weights, []float32) {
	return func(w *model.Weights, v []float32) { *w.Layers[i].Tensors(w.Config)[j].Data = v }
}

// layerSetterBF16 is layerSetter for the tensor's bfloat16 field.
func layerSetterBF16(i, j int) func(*model.Weights, []uint16) {
	return func(w *model.Weights, v []uint16) { *w.Layers[i].Tensors(w.Config)[j].BF16 = v }
}

// ProductsBF16 reports whether the checkpoint stores the tensors that
// Weights can keep as bfloat16 (the products', the embedding, the head) as
// BF16: keeping them so then costs nothing and changes no value.
func (ck *Checkpoint) ProductsBF16() bool {
	found := false
	for _, s := range ck.slots {
		if s.set16 != nil && s.t != nil {
			if s.t.dtype != BF16 {
				return false
			}
			found = true
		}
	}
	return found
}

// Float32Copies is the memory that Weights takes for the float32 tensors
// it makes (converted from F16 or BF16, A from A_log, padded or absent
// ones, tensors in compressed zip entries), Checkpoint.BF16 unset: the
// other tensors are views of the mapped files, which cost no memory of
// their own.
func (ck *Checkpoint) Float32Copies() int64 {
	var n int64
	for _, s := range ck.slots {
		if s.t == nil || s.t.dtype != F32 || s.negExp || s.take != s.n || s.t.entry != nil {
			n += 4 * int64(s.n)
		}
	}
	return n
}

// BF16Copies is Float32Copies with Checkpoint.BF16 set: the products',
// the embedding's and the head's tensors take 2 bytes a value where they
// are not views of BF16 tensors in the mapped files (narrowed from F32 or
// F16, padded, in compressed zip entries), the others as Float32Copies
// counts them.
func (ck *Checkpoint) BF16Copies() int64 {
	var n int64
	for _, s := range ck.slots {
		switch {
		case s.set16 != nil:
			if s.t == nil || s.t.dtype != BF16 || s.take != s.n || s.t.entry != nil {
				n += 2 * int64(s.n)
			}
		case s.t == nil || s.t.dtype != F32 || s.negExp || s.take != s.n || s.t.entry != nil:
			n += 4 * int64(s.n)
		}
	}
	return n
}

// Weights loads the model. F32 tensors that need no change are views of the
// mapped files; F16 and BF16 tensors, A, padded embeddings and absent conv
// biases are converted into new float32 slices. With ck.BF16, the
// products, the embedding and the head are bfloat16 instead: BF16 tensors
// views of the files, the others narrowed into new slices. The weights
// stay valid until the checkpoint is closed.
func (ck *Checkpoint) Weights() (*model.Weights, error) {
	if err := ck.checkTied(); err != nil {
		return nil, err
	}
	c := ck.Config.Config
	w := &model.Weights{Config: c, Layers: make([]model.Layer, c.NLayers), BF16: ck.BF16}
	for _, s := range ck.slots {
		if ck.BF16 && s.set16 != nil {
			v, err := s.loadBF16()
			if err != nil {
				return nil, err
			}
			s.set16(w, v)
			continue
		}
		v, err := s.load(ck.NegExp)
		if err != nil {
			return nil, err
		}
		s.set(w, v)
	}
	if c.TiedHead {
		w.LMHead, w.LMHeadBF16 = w.Embedding, w.EmbeddingBF16
	}
	if err := w.CheckBF16(); err != nil {
		return nil, fmt.Errorf("%s: %w", ck.describe(), err)
	}
	return w, nil
}

func (s *slot) load(negExp func(float32) float32) ([]float32, error) {
	if s.t == nil {
		return make([]float32, s.n), nil
	}
	b, err := s.t.bytes()
	if err != nil {
		return nil, err
	}
	if s.t.dtype == F32 && !s.negExp && s.take == s.n {
		return model.BytesAsFloat32(b[:4*s.n])[:s.n:s.n], nil
	}
	v := make([]float32, s.n)
	decode(v[:s.take], b, s.t.dtype)
	if s.negExp {
		for i, a := range v {
			v[i] = negExp(a)
		}
	}
	return v, nil
}

// loadBF16 is load for a tensor kept as bfloat16: a view of the mapped
// file when it is stored as BF16 and needs no padding, else narrowed.
func (s *slot) loadBF16() ([]uint16, error) {
	b, err := s.t.bytes()
	if err != nil {
		return nil, err
	}
	if s.t.dtype == BF16 && s.take == s.n {
		return model.BytesAsBF16(b[:2*s.n])[:s.n:s.n], nil
	}
	v := make([]uint16, s.n)
	decodeBF16(v[:s.take], b, s.t.dtype)
	if s.t.entry == nil { // a view of the mapped file, read once: its pages may leave the process
		memory.DropFilePages(b)
	}
	return v, nil
}

// ModelBinSize is the size of the model.bin that WriteModelBin writes.
func (ck *Checkpoint) ModelBinSize() int64 {
	return model.ModelBinHeaderSize + 4*ck.Config.NumParams()
}

// chunkValues is how many values WriteModelBin converts at a time.
const chunkValues = 64 << 10

// WriteModelBin streams the checkpoint as mamba.c's model.bin, tensor by
// tensor and chunk by chunk, reading the files with ReadAt: besides two
// small buffers nothing of the model is held in memory.
func (ck *Checkpoint) WriteModelBin(out io.Writer) error {
	if err := ck.checkTied(); err != nil {
		return err
	}
	if err := model.WriteModelBinHeader(out, ck.Config.Config); err != nil {
		return err
	}
	raw := make([]byte, 4*chunkValues)
	vals := make([]float32, chunkValues)
	for _, s := range ck.slots {
		if s.t != nil {
			if err := ck.streamSlot(out, &s, raw, vals); err != nil {
				return err
			}
		}
		clear(vals)
		for done := s.take; done < s.n; {
			m := min(chunkValues, s.n-done)
			if err := model.WriteFloat32s(out, vals[:m]); err != nil {
				return err
			}
			done += m
		}
	}
	return nil
}

// streamSlot writes the float32 values of one stored tensor, converting
// its dtype and A_log a chunk at a time.
func (ck *Checkpoint) streamSlot(out io.Writer, s *slot, raw []byte, vals []float32) error {
	r, err := s.t.reader()
	if err != nil {
		return err
	}
	defer r.Close()
	es := s.t.dtype.Size()
	for done := 0; done < s.take; {
		m := min(len(vals), s.take-done)
		if _, err := io.ReadFull(r, raw[:m*es]); err != nil {
			return fmt.Errorf("%s: %w", s.t.where(), err)
		}
		decode(vals[:m], raw, s.t.dtype)
		if s.negExp {
			for i, a := range vals[:m] {
				vals[i] = ck.NegExp(a)
			}
		}
		if err := model.WriteFloat32s(out, vals[:m]); err != nil {
			return err
		}
		done += m
	}
	return nil
}

// checkTied refuses an lm_head.weight stored apart from the embedding that
// differs from it while the config ties the two (the head would be ignored).
// It streams both, so it costs no memory.
func (ck *Checkpoint) checkTied() error {
	lm := ck.tiedLM
	if lm == nil {
		return nil
	}
	emb := ck.byName["embedding.weight"]
	re, err := emb.reader()
	if err != nil {
		return err
	}
	defer re.Close()
	rl, err := lm.reader()
	if err != nil {
		return err
	}
	defer rl.Close()
	be, bl := make([]byte, 4*chunkValues), make([]byte, 4*chunkValues)
	ve, vl := make([]float32, chunkValues), make([]float32, chunkValues)
	for done := 0; done < emb.numel; {
		m := min(chunkValues, emb.numel-done)
		if _, err := io.ReadFull(re, be[:m*emb.dtype.Size()]); err != nil {
			return fmt.Errorf("%s: %w", emb.where(), err)
		}
		if _, err := io.ReadFull(rl, bl[:m*lm.dtype.Size()]); err != nil {
			return fmt.Errorf("%s: %w", lm.where(), err)
		}
		decode(ve[:m], be, emb.dtype)
		decode(vl[:m], bl, lm.dtype)
		for i := range m {
			if math.Float32bits(ve[i]) != math.Float32bits(vl[i]) {
				return fmt.Errorf("%s: differs from %q at value %d, but the config ties the head to the embedding (tie_embeddings / tie_word_embeddings)", lm.where(), emb.name, done+i)
			}
		}
		done += m
	}
	return nil
}
