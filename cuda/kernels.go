package cuda

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

// ptxFiles are the kernels compiled to PTX by `make ptx` (cuda/make-ptx.sh).
//
//go:embed kernels/*.ptx
var ptxFiles embed.FS

// PTXDirEnv names the environment variable that makes the kernels load
// from NAME.ptx files in that folder instead of the embedded PTX: a GPU
// machine with nvcc and no Go can compile kernels/*.cu for its own GPU
// (cuda/make-ptx.sh DIR) and run the same binaries with them
// (cuda/gpu-check.sh does so when the embedded PTX does not load).
const PTXDirEnv = "MAMBA_PTX_DIR"

// kernelNames are the kernels the host code launches; kernel NAME is
// defined in kernels/NAME.cu and compiled to kernels/NAME.ptx.
var kernelNames = []string{
	"in_proj_conv",
	"matvec_v1",
	"matvec_v2",
	"bcdt_norm",
	"dt_scan_gate",
	"head",
	"sample",
	"smoke",
}

// kernelArity is the number of parameters of each kernel, as its CUDA C
// signature has them; a launch with another count is refused (the driver
// would read garbage). A test compares it with the PTX.
var kernelArity = map[string]int{
	"in_proj_conv": 15, // u, z, conv, in_proj, conv_w, conv_b, norm_w, h, embedding, ctl, d, di, k, wpr, eps
	"matvec_v1":    7,  // out, W, x, rows, cols, wpr, accumulate
	"matvec_v2":    7,  // out, W, x, rows, cols, wpr, accumulate
	"bcdt_norm":    4,  // xDBC, r, n, eps
	"dt_scan_gate": 12, // y, ssm, u, z, xDBC, dt_w, dt_b, A, D, di, r, n
	"head":         13, // out, best, part_v, part_i, done, W, norm_f, h, rows, vocab, d, wpr, eps
	"sample":       4,  // ctl, logits, probs, vocab
	"smoke":        2,  // out, n
}

// kernelPTX returns the PTX text that holds kernel name, and where it came
// from: the embedded kernels/NAME.ptx, or NAME.ptx in $MAMBA_PTX_DIR.
func kernelPTX(name string) (ptx, from string, err error) {
	if dir := os.Getenv(PTXDirEnv); dir != "" {
		from = filepath.Join(dir, name+".ptx")
		b, err := os.ReadFile(from)
		if err != nil {
			return "", from, fmt.Errorf("cuda: %s is set: %w", PTXDirEnv, err)
		}
		return string(b), from, nil
	}
	b, err := ptxFiles.ReadFile("kernels/" + name + ".ptx")
	if err != nil {
		return "", "", fmt.Errorf("cuda: no embedded PTX for kernel %s: %w", name, err)
	}
	return string(b), "embedded kernels/" + name + ".ptx", nil
}

var entryRE = regexp.MustCompile(`(?m)^\s*(?:\.visible\s+)?\.entry\s+([A-Za-z_][A-Za-z0-9_$]*)\s*\(`)

// ptxEntries lists the kernel entry points (.entry NAME) that a PTX text defines.
func ptxEntries(ptx string) []string {
	var names []string
	for _, m := range entryRE.FindAllStringSubmatch(ptx, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}
