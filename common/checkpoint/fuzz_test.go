package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"mamba.go/common/internal/testmodel"
)

// FuzzSafetensorsHeader: any bytes give an error or a header whose every
// tensor lies inside the file, without overlap, its size matching its shape.
func FuzzSafetensorsHeader(f *testing.F) {
	// Small seeds: the fuzzer minimises every new interesting input, which
	// for a 30 kB file takes its whole minute.
	tiny := testmodel.Config(4, 1, 3)
	f.Add(testmodel.EncodeSafetensors(testmodel.Tensors(tiny, testmodel.Options{HFNames: true})[:4]))
	f.Add(testmodel.EncodeSafetensors(testmodel.Tensors(tiny, testmodel.Options{DType: "BF16"})[:3]))
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Add([]byte("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}    \x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, start, err := readSafetensorsHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		used := make([]bool, len(data))
		for _, e := range entries {
			require.GreaterOrEqual(t, e.begin, int64(0))
			require.LessOrEqual(t, start+e.end, int64(len(data)))
			require.Equal(t, int64(e.numel*e.dtype.Size()), e.end-e.begin)
			for i := start + e.begin; i < start+e.end; i++ {
				require.False(t, used[i], "tensors overlap")
				used[i] = true
			}
		}
	})
}

// FuzzParseConfig: any bytes give an error or a config that validates.
func FuzzParseConfig(f *testing.F) {
	f.Add(testmodel.HFConfig(small))
	f.Add(testmodel.StateSpacesConfig(small))
	f.Add([]byte(`{"d_model": 768, "n_layer": 24, "vocab_size": 50277, "ssm_cfg": {}, "rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8}`))
	f.Add([]byte(`{"hidden_size": 768, "num_hidden_layers": 24, "vocab_size": 50280, "time_step_rank": "auto", "intermediate_size": 1536}`))
	f.Add([]byte(`{"d_model": 16.0, "n_layer": 1e0, "vocab_size": 3, "ssm_cfg": {"dt_rank": "auto", "d_state": 2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		mc, err := ParseConfig(data)
		if err != nil {
			require.NotContains(t, err.Error(), "\n")
			return
		}
		require.NoError(t, mc.Config.Validate())
		require.Contains(t, []string{DialectHF, DialectStateSpaces}, mc.Dialect)
	})
}

// FuzzPickle: any data.pkl gives an error or tensor views, never a panic.
func FuzzPickle(f *testing.F) {
	ss, rs := testmodel.TorchParts(testmodel.Tensors(testmodel.Config(8, 1, 5), testmodel.Options{}))
	zr, err := zip.NewReader(bytes.NewReader(testmodel.EncodeTorchZip("a", ss, rs, zip.Store)), 1<<30)
	if err == nil {
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) == "data.pkl" {
				rc, _ := zf.Open()
				b, _ := io.ReadAll(rc)
				f.Add(b)
			}
		}
	}
	if shared := caseDirs(); len(shared) > 0 {
		if zr, err := zip.OpenReader(filepath.Join(shared[0], "state-spaces", "pytorch_model.bin")); err == nil {
			for _, zf := range zr.File {
				if filepath.Base(zf.Name) == "data.pkl" {
					rc, _ := zf.Open()
					b, _ := io.ReadAll(rc)
					f.Add(b)
				}
			}
			zr.Close()
		}
	}
	f.Add([]byte("\x80\x02}q\x00."))
	f.Add([]byte("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94\x8a\x00."))
	f.Fuzz(func(t *testing.T, data []byte) {
		refs, err := unpickleStateDict(data)
		if err != nil {
			return
		}
		for _, r := range refs {
			require.NotNil(t, r.t.storage)
		}
	})
}

// FuzzOpenSafetensors runs a whole load on a fuzzed model.safetensors.
func FuzzOpenSafetensors(f *testing.F) {
	c := testmodel.Config(4, 1, 3)
	f.Add(testmodel.EncodeSafetensors(testmodel.Tensors(c, testmodel.Options{HFNames: true})))
	f.Add(testmodel.EncodeSafetensors(testmodel.Tensors(c, testmodel.Options{HFNames: true, DType: "F16"})))
	dir := f.TempDir()
	require.NoError(f, os.WriteFile(filepath.Join(dir, "config.json"), testmodel.HFConfig(c), 0o644))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 8 && binary.LittleEndian.Uint64(data) > 1<<20 {
			return
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), data, 0o644))
		w, err := Load(dir)
		if err != nil {
			return
		}
		require.NoError(t, w.Check())
		var buf bytes.Buffer
		ck, err := Open(dir)
		require.NoError(t, err)
		require.NoError(t, ck.WriteModelBin(&buf))
		ck.Close()
		w.Close()
	})
}
