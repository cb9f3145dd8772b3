package cuda

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every kernel the host looks up is an entry point of its embedded PTX.
func TestEmbeddedPTXDefinesEveryKernel(t *testing.T) {
	for _, name := range kernelNames {
		ptx, _, err := embeddedPTX(name)
		require.NoError(t, err)
		assert.Contains(t, ptxEntries(ptx), name, "kernels/%s.ptx", name)
		assert.Contains(t, ptx, ".target sm_75", "kernels/%s.ptx targets compute_75", name)
	}
}

// Every embedded PTX file is a kernel the host uses, so none is forgotten,
// and every kernel source has its PTX.
func TestNoStrayKernels(t *testing.T) {
	ptxs, err := fs.Glob(ptxFiles, "kernels/*.ptx")
	require.NoError(t, err)
	var embedded []string
	for _, p := range ptxs {
		embedded = append(embedded, strings.TrimSuffix(filepath.Base(p), ".ptx"))
	}
	assert.ElementsMatch(t, kernelNames, embedded)

	sources, err := filepath.Glob("kernels/*.cu")
	require.NoError(t, err)
	if len(sources) == 0 {
		t.Skip("no kernels/*.cu in the working directory (run from cuda/): only the embedded PTX was checked")
	}
	var names []string
	for _, s := range sources {
		names = append(names, strings.TrimSuffix(filepath.Base(s), ".cu"))
	}
	assert.ElementsMatch(t, kernelNames, names, "kernels/*.cu")
}

// The embedded PTX is the committed file (go:embed reads it at build time;
// this catches a stale test cache rather than a stale PTX, which
// check-ptx.sh does).
func TestEmbeddedPTXIsTheFile(t *testing.T) {
	if _, err := os.Stat("kernels"); err != nil {
		t.Skip("no kernels/ in the working directory (run from cuda/)")
	}
	for _, name := range kernelNames {
		ptx, _, err := embeddedPTX(name)
		require.NoError(t, err)
		file, err := os.ReadFile(filepath.Join("kernels", name+".ptx"))
		require.NoError(t, err)
		assert.Equal(t, string(file), ptx)
	}
}

func TestPTXEntries(t *testing.T) {
	ptx := `
.version 7.8
.visible .entry argmax(
	.param .u64 argmax_param_0
)
.entry helper_kernel (
.func  notakernel(
`
	assert.Equal(t, []string{"argmax", "helper_kernel"}, ptxEntries(ptx))
}

func TestKernelPTXUnknown(t *testing.T) {
	t.Setenv(PTXDirEnv, "")
	_, _, err := kernelPTX("nosuchkernel")
	assert.Error(t, err)
}

// MAMBA_PTX_DIR replaces the embedded PTX with the folder's files, and a
// missing file is an error naming it.
func TestPTXDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "smoke.ptx"), []byte("// other PTX\n"), 0o644))
	t.Setenv(PTXDirEnv, dir)
	ptx, from, err := kernelPTX("smoke")
	require.NoError(t, err)
	assert.Equal(t, "// other PTX\n", ptx)
	assert.Equal(t, filepath.Join(dir, "smoke.ptx"), from)
	_, _, err = kernelPTX("head")
	assert.ErrorContains(t, err, filepath.Join(dir, "head.ptx"))

	t.Setenv(PTXDirEnv, "")
	ptx, from, err = kernelPTX("smoke")
	require.NoError(t, err)
	assert.Contains(t, ptx, ".entry smoke(")
	assert.Equal(t, "embedded kernels/smoke.ptx", from)
}

// The kernels' parameter lists, read from the PTX, have the arity the host
// passes: a launch with a wrong argument count would read garbage.
func TestKernelArity(t *testing.T) {
	for name, want := range kernelArity {
		ptx, _, err := embeddedPTX(name)
		require.NoError(t, err)
		assert.Equal(t, want, ptxParams(t, ptx, name), "parameters of %s", name)
	}
	assert.Len(t, kernelArity, len(kernelNames))
}

// ptxParams counts the .param lines of kernel name's entry in ptx.
func ptxParams(t *testing.T, ptx, name string) int {
	t.Helper()
	i := strings.Index(ptx, ".entry "+name+"(")
	require.GreaterOrEqual(t, i, 0, "no .entry %s", name)
	end := strings.Index(ptx[i:], ")")
	require.Greater(t, end, 0)
	return strings.Count(ptx[i:i+end], ".param ")
}

// sharedRE matches a static shared declaration: an array of bytes, or one
// scalar (counted as 8 bytes, the widest).
var sharedRE = regexp.MustCompile(`\.shared\s+\.align\s+\d+\s+\.\w+\s+[\w$]+(?:\[(\d+)\])?;`)

// The static shared memory of every kernel that stages a vector in dynamic
// shared memory fits in the room geometry.go keeps for it beside the vector.
func TestStaticSharedFits(t *testing.T) {
	for _, name := range []string{"in_proj_conv", "matvec_v2", "head"} {
		ptx, _, err := embeddedPTX(name)
		require.NoError(t, err)
		total := 0
		for _, m := range sharedRE.FindAllStringSubmatch(ptx, -1) {
			n := 8
			if m[1] != "" {
				var err error
				n, err = strconv.Atoi(m[1])
				require.NoError(t, err)
			}
			total += n
		}
		assert.LessOrEqual(t, total, staticSharedBytes, "static shared memory of %s", name)
	}
}

// embeddedPTX is kernelPTX with MAMBA_PTX_DIR unset.
func embeddedPTX(name string) (string, string, error) {
	dir, had := os.LookupEnv(PTXDirEnv)
	os.Unsetenv(PTXDirEnv)
	defer func() {
		if had {
			os.Setenv(PTXDirEnv, dir)
		}
	}()
	return kernelPTX(name)
}
