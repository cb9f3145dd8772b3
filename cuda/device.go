//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"unsafe"

	"gorgonia.org/cu"
)

// device is one CUDA context on GPU 0 with the kernels loaded into it.
//
// A CUDA context is current per OS thread, and goroutines move between
// threads, so every method that calls the driver first pins its goroutine
// to its thread and makes the context current there (bind).
type device struct {
	ctx     cu.CUContext
	name    string
	cc      string // compute capability, "9.0"
	sms     int    // multiprocessors
	modules []cu.Module
	kernels map[string]kernel
}

// kernel is a loaded kernel function.
type kernel struct {
	name  string
	fn    cu.Function
	arity int
}

// openDevice creates the context on GPU 0 and loads every kernel's PTX
// (the driver compiles it for this GPU). The caller must have pinned its
// goroutine to its thread (runtime.LockOSThread): the new context is left
// current on that thread.
func openDevice() (*device, error) {
	d, err := openContext()
	if err != nil {
		return nil, err
	}
	for _, name := range kernelNames {
		if err := d.load(name); err != nil {
			d.close()
			return nil, err
		}
	}
	return d, nil
}

// openContext creates the context on GPU 0, with no kernels loaded yet.
func openContext() (*device, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: counting devices: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("cuda: no CUDA device")
	}
	dev, err := cu.GetDevice(0)
	if err != nil {
		return nil, fmt.Errorf("cuda: device 0: %w", err)
	}
	d := &device{kernels: map[string]kernel{}}
	if d.name, err = dev.Name(); err != nil {
		return nil, fmt.Errorf("cuda: device 0 name: %w", err)
	}
	if d.sms, err = dev.Attribute(cu.MultiprocessorCount); err != nil {
		return nil, fmt.Errorf("cuda: %s: multiprocessor count: %w", d.name, err)
	}
	major, err := dev.Attribute(cu.ComputeCapabilityMajor)
	if err == nil {
		var minor int
		minor, err = dev.Attribute(cu.ComputeCapabilityMinor)
		d.cc = fmt.Sprintf("%d.%d", major, minor)
	}
	if err != nil {
		return nil, fmt.Errorf("cuda: %s: compute capability: %w", d.name, err)
	}
	if d.ctx, err = dev.MakeContext(cu.SchedAuto); err != nil {
		return nil, fmt.Errorf("cuda: %s: creating a context: %w", d.name, err)
	}
	return d, nil
}

// load JIT-compiles one kernel's PTX (embedded, or from $MAMBA_PTX_DIR)
// and looks its function up. On failure the error carries the driver's JIT
// log: what the PTX compiler refused, and where.
func (d *device) load(name string) error {
	ptx, from, err := kernelPTX(name)
	if err != nil {
		return err
	}
	errLog := &cu.JITErrorLogBuffer{Buffer: make([]byte, 8192)}
	mod, err := cu.LoadDataEx(ptx, errLog)
	if err != nil {
		msg := string(errLog.Buffer)
		if i := indexByte0(errLog.Buffer); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = "(the JIT log is empty)"
		}
		return fmt.Errorf("cuda: %s: loading %s (%s): %w: JIT log: %s", d.name, from, ptxHeader(ptx), err, msg)
	}
	d.modules = append(d.modules, mod)
	fn, err := mod.Function(name)
	if err != nil {
		return fmt.Errorf("cuda: kernel %s: %w", name, err)
	}
	d.kernels[name] = kernel{name: name, fn: fn, arity: kernelArity[name]}
	return nil
}

// ptxHeader names the PTX ISA version and target of a PTX text, for errors:
// ".version 7.8, .target sm_75".
func ptxHeader(ptx string) string {
	var parts []string
	for _, line := range strings.Split(ptx, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, ".version") || strings.HasPrefix(line, ".target") {
			parts = append(parts, line)
			if len(parts) == 2 {
				break
			}
		}
	}
	return strings.Join(parts, ", ")
}

// residentBlocks is how many blocks of kernel name, of threads threads and
// shared bytes of dynamic shared memory, fit on one multiprocessor (the
// driver's occupancy calculator); at least 1.
func (d *device) residentBlocks(name string, threads, shared int) (int, error) {
	n, err := d.kernels[name].fn.MaxActiveBlocksPerMultiProcessor(threads, int64(shared))
	if err != nil {
		return 0, fmt.Errorf("cuda: %s: occupancy of %s: %w", d.name, name, err)
	}
	return max(n, 1), nil
}

func indexByte0(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// bind pins the calling goroutine to its OS thread and makes the context
// current there; the returned func unpins it.
func (d *device) bind() (func(), error) {
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("cuda: making the context current: %w", err)
	}
	return runtime.UnlockOSThread, nil
}

// close unloads the kernels and destroys the context (and with it every
// allocation made in it). The context must be current.
func (d *device) close() error {
	var first error
	for _, m := range d.modules {
		if err := m.Unload(); err != nil && first == nil {
			first = fmt.Errorf("cuda: unloading a module: %w", err)
		}
	}
	d.modules = nil
	if err := d.ctx.Destroy(); err != nil && first == nil {
		first = fmt.Errorf("cuda: destroying the context: %w", err)
	}
	return first
}

// Kernel arguments. cu's Launch reads 8 bytes behind every parameter
// pointer, so each argument is held in a uint64: a device pointer whole, an
// int32 or a float32 in the low 4 bytes (the driver copies as many bytes as
// the kernel's parameter has: 4 for int and float; the host is
// little-endian).

func argPtr(p cu.DevicePtr) uint64 { return uint64(p) }
func argInt(v int) uint64          { return uint64(uint32(int32(v))) }
func argFloat(v float32) uint64    { return uint64(math.Float32bits(v)) }

// launcher launches kernels on its stream, in order, keeping the first
// error: after an error every later launch is skipped, and err reports it.
// One launcher per model; not safe for concurrent use.
type launcher struct {
	stream cu.Stream
	err    error
	vals   [16]uint64
	ptrs   [16]unsafe.Pointer
}

// launch runs k on a 1-D grid of blocks × threads with shared bytes of
// dynamic shared memory.
func (l *launcher) launch(k kernel, blocks, threads, shared int, args ...uint64) {
	if l.err != nil {
		return
	}
	if len(args) != k.arity || len(args) > len(l.vals) {
		l.err = fmt.Errorf("cuda: kernel %s takes %d arguments, got %d", k.name, k.arity, len(args))
		return
	}
	for i, a := range args {
		l.vals[i] = a
		l.ptrs[i] = unsafe.Pointer(&l.vals[i])
	}
	if err := k.fn.Launch(blocks, 1, 1, threads, 1, 1, shared, l.stream, l.ptrs[:len(args)]); err != nil {
		l.err = fmt.Errorf("cuda: launching %s (%d blocks of %d threads, %d bytes shared): %w", k.name, blocks, threads, shared, err)
	}
}

// fail records err unless an earlier error is kept.
func (l *launcher) fail(err error) {
	if l.err == nil {
		l.err = err
	}
}

// take returns the launcher's error and clears it.
func (l *launcher) take() error {
	err := l.err
	l.err = nil
	return err
}
