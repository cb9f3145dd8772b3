//go:build !cuda

// Command mamba-cuda, built without the cuda tag, is the launcher of the
// GPU program: bin/mamba-cuda runs bin/mamba-cuda.gpu (the same command
// built with the cuda tag, which `make cuda` puts beside it).
//
// The GPU program links the driver's libcuda.so.1, so without a driver the
// dynamic loader stops it before any code runs, -h included. The launcher
// links nothing: it answers -h itself, says plainly when the driver or the
// GPU program is missing, and otherwise replaces itself with the GPU
// program (exec, same arguments and environment).
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"mamba.go/common/cli"
	"mamba.go/common/model"
)

const name = "mamba-cuda"

func main() {
	args := os.Args[1:]
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			cli.Run(name, []string{"-h"}, os.Stdout, os.Stderr, func(*model.Weights) (model.Mamba, error) {
				return nil, fmt.Errorf("no model for -h")
			})
			return
		}
	}
	self, err := os.Executable()
	if err != nil {
		fail("cannot find its own path: %v", err)
	}
	gpu := filepath.Join(filepath.Dir(self), name+".gpu")
	if _, err := os.Stat(gpu); err != nil {
		fail("the GPU program %s is missing: build it with `make cuda` (bin/mamba-fused runs on the CPU)", gpu)
	}
	if !driverInstalled() {
		fail("no NVIDIA driver: libcuda.so.1 is not installed, and %s needs an NVIDIA GPU and its driver (bin/mamba-fused runs on the CPU)", name)
	}
	err = syscall.Exec(gpu, append([]string{os.Args[0]}, args...), os.Environ())
	fail("running %s: %v", gpu, err)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, name+": "+format+"\n", a...)
	os.Exit(1)
}

// libDirs are where distributions and NVIDIA's installers put libcuda.so.1.
var libDirs = []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64",
	"/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/wsl/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib"}

// driverInstalled looks for libcuda.so.1 where the dynamic loader would:
// $LD_LIBRARY_PATH, the loader's cache (/etc/ld.so.cache holds the names
// of the libraries it knows), the usual folders.
func driverInstalled() bool {
	dirs := append(filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")), libDirs...)
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(d, "libcuda.so.1")); err == nil && !st.IsDir() {
			return true
		}
	}
	if cache, err := os.ReadFile("/etc/ld.so.cache"); err == nil {
		return bytes.Contains(cache, []byte("libcuda.so.1\x00"))
	}
	return false
}
