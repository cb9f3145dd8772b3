package cuda

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
)

// ptxFiles are the kernels compiled to PTX by `make ptx` (cuda/make-ptx.sh).
//
//go:embed kernels/*.ptx
var ptxFiles embed.FS

// kernelNames are the kernels the host code launches; kernel NAME is
// defined in kernels/NAME.cu and compiled to kernels/NAME.ptx.
var kernelNames = []string{
	"in_proj_conv",
	"matvec",
	"dt_scan_gate",
	"rmsnorm_matvec",
	"argmax",
}

// kernelArity is the number of parameters of each kernel, as its CUDA C
// signature has them; a launch with another count is refused (the driver
// would read garbage). A test compares it with the PTX.
var kernelArity = map[string]int{
	"in_proj_conv":   14, // u, z, conv, in_proj, conv_w, conv_b, norm_w, h, h_init, d, di, k, wpr, eps
	"matvec":         7,  // out, W, x, rows, cols, wpr, accumulate
	"dt_scan_gate":   12, // y, ssm, u, z, xDBC, dt_w, dt_b, A, D, di, r, n
	"rmsnorm_matvec": 8,  // out, W, norm_w, h, rows, d, wpr, eps
	"argmax":         3,  // out, x, n
}

// kernelPTX returns the PTX text that holds kernel name.
func kernelPTX(name string) (string, error) {
	b, err := ptxFiles.ReadFile("kernels/" + name + ".ptx")
	if err != nil {
		return "", fmt.Errorf("cuda: no embedded PTX for kernel %s: %w", name, err)
	}
	return string(b), nil
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
