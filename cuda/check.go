//go:build cuda

package cuda

// The GPU machine's own checks, for cmd/cuda-check (cuda/gpu-check.sh):
// Smoke, the first thing to run on a new GPU or driver, and BenchMatVec,
// the streaming speed of each matrix–vector product variant.

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"mamba.go/common/model"
)

// Smoke loads every kernel's PTX (embedded, or from $MAMBA_PTX_DIR), one
// module at a time, reporting each with the driver's JIT log when it fails,
// then launches the smoke kernel and checks what it wrote. It is the first
// step of cuda/gpu-check.sh: PTX loading is the first thing that can fail on
// a new GPU or driver.
func Smoke(w io.Writer) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d, err := openContext()
	if err != nil {
		return err
	}
	defer d.close()
	drv := cu.Version()
	fmt.Fprintf(w, "GPU 0: %s, compute capability %s, %d multiprocessors; driver API %d.%d\n", d.name, d.cc, d.sms,
		drv/1000, drv%1000/10)
	failed := 0
	for _, name := range kernelNames {
		if err := d.load(name); err != nil {
			fmt.Fprintf(w, "load %-14s FAILED: %v\n", name, err)
			failed++
			continue
		}
		ptx, from, _ := kernelPTX(name)
		fmt.Fprintf(w, "load %-14s ok (%s, %s)\n", name, from, ptxHeader(ptx))
	}
	if failed > 0 {
		return fmt.Errorf("cuda: %d of %d kernels' PTX did not load on %s (compute capability %s)", failed,
			len(kernelNames), d.name, d.cc)
	}
	const n = 1000
	out, err := cu.MemAlloc(4 * n)
	if err != nil {
		return fmt.Errorf("cuda: %s: allocating: %w", d.name, err)
	}
	defer cu.MemFree(out)
	var l launcher
	l.launch(d.kernels["smoke"], ceilDiv(n, threads), threads, 0, argPtr(out), argInt(n))
	if err := l.take(); err != nil {
		return err
	}
	got := make([]int32, n)
	if err := cu.MemcpyDtoH(unsafe.Pointer(&got[0]), out, 4*n); err != nil {
		return fmt.Errorf("cuda: %s: the smoke kernel failed: %w", d.name, err)
	}
	for i, v := range got {
		if v != int32(3*i+1) {
			return fmt.Errorf("cuda: %s: the smoke kernel wrote out[%d] = %d, want %d", d.name, i, v, 3*i+1)
		}
	}
	fmt.Fprintf(w, "launch smoke: ok (%d values checked)\n", n)
	return nil
}

// BenchMatVec runs each matrix–vector product variant (matvec_v1,
// matvec_v2) on the matrices of one step of a model of config c: checks its
// result against a float64 product on the CPU, then times reps launches,
// each on another copy of the matrix (so that the 50 MB L2 cache holds none
// of it), and prints GB/s of weights streamed. One line per variant and
// matrix; it returns an error if a row is off by more than 1e-5 of
// Σ_j |W[row][j]·x[j]| (float32 rounding is ~1e-7 of it).
func BenchMatVec(w io.Writer, c model.Config, reps int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d, err := openDevice()
	if err != nil {
		return err
	}
	defer d.close()
	s := shapeOf(c)
	mats := []struct {
		name       string
		rows, cols int
		v1MaxWPR   int // matvec_v1's split as the model used it (planMatVecGridV1)
	}{
		{"in_proj", 2 * s.di, s.d, 2}, {"x_proj", s.r + 2*s.n, s.di, 8}, {"out_proj", s.d, s.di, 8},
		{"lm_head", s.vocabPadded, s.d, 2},
	}
	fmt.Fprintf(w, "%s on %s: GB/s of weights streamed, %d launches, each on another copy of the matrix\n", c, d.name, reps)
	fmt.Fprintf(w, "| matrix | shape | MB | variant | blocks × warps/row | µs/launch | GB/s | max rel. error |\n|---|---|---|---|---|---|---|---|\n")
	var bad error
	for _, mt := range mats {
		if err := benchOne(w, d, mt.name, mt.rows, mt.cols, mt.v1MaxWPR, reps); err != nil {
			if bad == nil {
				bad = err
			}
		}
	}
	return bad
}

// benchL2Bytes is more than any GPU's L2 cache: the copies of a matrix that
// the benchmark rotates through add up to at least this.
const benchL2Bytes = 512 << 20

func benchOne(w io.Writer, d *device, name string, rows, cols, v1MaxWPR, reps int) error {
	size := 4 * rows * cols
	copies := max(1, ceilDiv(benchL2Bytes, size))
	wh := make([]float32, rows*cols)
	for i := range wh {
		wh[i] = float32(math.Sin(float64(i)*0.37)) * 0.05
	}
	xh := make([]float32, cols)
	for i := range xh {
		xh[i] = float32(math.Cos(float64(i) * 0.11))
	}
	// want and, for each row, Σ_j |W[row][j]·x[j]|: the scale of a float32
	// product's rounding (the sum itself may cancel to near 0).
	want, scale := make([]float64, rows), make([]float64, rows)
	for r := range want {
		for j, x := range xh {
			p := float64(wh[r*cols+j]) * float64(x)
			want[r] += p
			scale[r] += math.Abs(p)
		}
	}
	stride := (int64(size) + tensorAlign - 1) / tensorAlign * tensorAlign
	mem, err := cu.MemAlloc(stride*int64(copies) + 2*tensorAlign + 4*int64(rows+cols))
	if err != nil {
		return fmt.Errorf("cuda: %s: allocating %d copies of %s: %w", d.name, copies, name, err)
	}
	defer cu.MemFree(mem)
	for i := 0; i < copies; i++ {
		if err := cu.MemcpyHtoD(mem+cu.DevicePtr(int64(i)*stride), unsafe.Pointer(&wh[0]), int64(size)); err != nil {
			return fmt.Errorf("cuda: copying %s: %w", name, err)
		}
	}
	x := mem + cu.DevicePtr(stride*int64(copies))
	y := x + cu.DevicePtr((4*int64(cols)+tensorAlign-1)/tensorAlign*tensorAlign)
	if err := cu.MemcpyHtoD(x, unsafe.Pointer(&xh[0]), 4*int64(cols)); err != nil {
		return err
	}
	var bad error
	for _, v := range []string{"matvec_v1", "matvec_v2"} {
		k := d.kernels[v]
		var g matVecGrid
		shared := 0
		if v == "matvec_v1" {
			g = planMatVecGridV1(rows, cols, d.sms, v1MaxWPR)
		} else {
			per, err := d.residentBlocks(v, threads, 4*cols)
			if err != nil {
				return err
			}
			g = planMatVecGrid(rows, cols, d.sms*per)
			shared = 4 * cols
		}
		var l launcher
		run := func(i int) {
			l.launch(k, g.blocks, threads, shared, argPtr(y), argPtr(mem+cu.DevicePtr(int64(i%copies)*stride)), argPtr(x),
				argInt(rows), argInt(cols), argInt(g.wpr), argInt(0))
		}
		run(0)
		got := make([]float32, rows)
		if err := l.take(); err != nil {
			return err
		}
		if err := cu.MemcpyDtoH(unsafe.Pointer(&got[0]), y, 4*int64(rows)); err != nil {
			return fmt.Errorf("cuda: %s on %s failed: %w", v, name, err)
		}
		var rel float64
		for r := range got {
			rel = math.Max(rel, math.Abs(float64(got[r])-want[r])/math.Max(scale[r], 1e-30))
		}
		if rel > 1e-5 && bad == nil {
			bad = fmt.Errorf("cuda: %s on %s [%d][%d] is off by %.3g relative", v, name, rows, cols, rel)
		}
		start, err1 := cu.MakeEvent(cu.DefaultEvent)
		end, err2 := cu.MakeEvent(cu.DefaultEvent)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("cuda: creating events: %v %v", err1, err2)
		}
		for i := 1; i <= 3; i++ { // warm up
			run(i)
		}
		start.Record(cu.NoStream)
		for i := 0; i < reps; i++ {
			run(i + 4)
		}
		end.Record(cu.NoStream)
		if err := end.Synchronize(); err != nil {
			return fmt.Errorf("cuda: %s on %s failed: %w", v, name, err)
		}
		ms, err := start.Elapsed(end)
		cu.DestroyEvent(&start)
		cu.DestroyEvent(&end)
		if err := l.take(); err != nil {
			return err
		}
		if err != nil {
			return err
		}
		us := ms * 1000 / float64(reps)
		fmt.Fprintf(w, "| %s | [%d][%d] | %.1f | %s | %d × %d | %.1f | %.0f | %.2g |\n", name, rows, cols,
			float64(size)/1e6, v, g.blocks, g.wpr, us, float64(size)/us/1e3, rel)
	}
	return bad
}
