//go:build !unix

package main

import "os/exec"

// maxRSS: this system does not report a peak resident size.
func maxRSS(cmd *exec.Cmd) int64 { return 0 }
