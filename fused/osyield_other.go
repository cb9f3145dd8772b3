//go:build !linux

package fused

import "runtime"

// osYield lets other goroutines run (sched_yield is Linux's).
func osYield() { runtime.Gosched() }
