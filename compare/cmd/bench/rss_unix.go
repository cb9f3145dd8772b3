//go:build unix

package main

import (
	"os/exec"
	"runtime"
	"syscall"
)

// maxRSS is the finished command's peak resident size in KiB (0 where the
// system does not say). Linux and the BSDs count ru_maxrss in KiB, macOS
// in bytes.
func maxRSS(cmd *exec.Cmd) int64 {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}
