package checkpoint

// PyTorch's checkpoint format since 1.6 (torch.save's zip serialization), as
// the state-spaces/mamba-* repos hold it in pytorch_model.bin:
//
//	ARCHIVE/data.pkl       a pickle of the state dict: an OrderedDict of
//	                       name → torch._utils._rebuild_tensor_v2(storage,
//	                       storage_offset, size, stride, ...), each storage a
//	                       persistent id ('storage', torch.FloatStorage, key,
//	                       location, numel)
//	ARCHIVE/data/KEY       the bytes of storage KEY, stored uncompressed and
//	                       64-byte aligned, little-endian
//	ARCHIVE/byteorder      "little"
//
// The pickle is read with github.com/nlpodyssey/gopickle, allowing only the
// few classes a state dict needs, and turned into tensor locations inside
// the zip file: nothing is read until a tensor is used, and the storages of
// an uncompressed archive are read (or mapped) straight from the file.

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// maxPickle bounds data.pkl, checked on its announced size before it is
// inflated and again while it is: a state dict's pickle is about 150 bytes
// per tensor (mamba-2.8b's 650 tensors: ~100 KB).
const maxPickle = 4 << 20

// pickleBudget bounds what unpickling data.pkl may allocate: the sum of
// opCost over its opcodes must stay under 96 bytes per byte of pickle plus
// 64 KiB, checked before it is run (so at most 96·4 MiB + 64 KiB for the
// largest pickle allowed). torch.save's state dicts cost ~45 per byte (and
// allocate ~20); MARK, empty-dict or empty-list bombs cost 190 to 400 per
// byte and are refused.
func pickleBudget(size int) int { return 96*size + 64<<10 }

// storageDTypes maps torch's typed storage classes to dtypes. Other storage
// classes are kept by name so that using their tensors fails clearly.
var storageDTypes = map[string]DType{
	"FloatStorage": F32, "HalfStorage": F16, "BFloat16Storage": BF16,
	"DoubleStorage": "F64", "LongStorage": "I64", "IntStorage": "I32",
	"ShortStorage": "I16", "CharStorage": "I8", "ByteStorage": "U8", "BoolStorage": "BOOL",
}

// storageType is a torch.XStorage class in the pickle.
type storageType struct{ name string }

// storageRef is a persistent id: one storage of the archive.
type storageRef struct {
	dtype DType
	class string
	key   string
	numel int
}

// tensorRef is a tensor rebuilt from the pickle: a view of a storage.
type tensorRef struct {
	storage *storageRef
	offset  int
	shape   []int
	stride  []int
}

type callable func(args ...any) (any, error)

func (f callable) Call(args ...any) (any, error) { return f(args...) }

// openPyTorch indexes the tensors of a pytorch_model.bin.
func openPyTorch(path string) (*source, []*tensor, error) {
	src, err := openSource(path)
	if err != nil {
		return nil, nil, err
	}
	ts, err := indexPyTorch(src)
	if err != nil {
		src.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return src, ts, nil
}

func indexPyTorch(src *source) ([]*tensor, error) {
	zr, err := zip.NewReader(src.f, src.size)
	if err != nil {
		var magic [2]byte
		if _, rerr := src.f.ReadAt(magic[:], 0); rerr == nil && magic[0] == 0x80 && magic[1] <= 5 {
			return nil, fmt.Errorf("legacy (pre-1.6, not zip) PyTorch format is not supported: re-save it with a recent torch.save")
		}
		return nil, fmt.Errorf("not a PyTorch zip checkpoint: %w", err)
	}
	var pkl *zip.File
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
		if dir, base, ok := strings.Cut(f.Name, "/"); ok && base == "data.pkl" && dir != "" {
			if pkl != nil {
				return nil, fmt.Errorf("two data.pkl in the archive (%s and %s)", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("no ARCHIVE/data.pkl: not a PyTorch checkpoint")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo, ok := entries[prefix+"byteorder"]; ok {
		b, err := readEntry(bo, 16)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bo.Name, err)
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("byteorder is %q: only little-endian checkpoints are supported", s)
		}
	}
	data, err := readEntry(pkl, maxPickle)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	refs, err := unpickleStateDict(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	var ts []*tensor
	for _, r := range refs {
		t, err := locateTensor(src, entries, prefix, r.name, r.t)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// locateTensor finds where the bytes of a contiguous view of a storage lie.
func locateTensor(src *source, entries map[string]*zip.File, prefix, name string, r *tensorRef) (*tensor, error) {
	s := r.storage
	t := &tensor{name: name, dtype: s.dtype, shape: r.shape, src: src}
	if s.dtype.Size() == 0 {
		return nil, fmt.Errorf("tensor %q: unknown storage type torch.%q", name, s.class)
	}
	var err error
	if t.numel, err = numelOf(r.shape); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if len(r.stride) != len(r.shape) {
		return nil, fmt.Errorf("tensor %q: stride %v does not match shape %v", name, r.stride, r.shape)
	}
	if t.numel > 0 {
		want := 1
		for i := len(r.shape) - 1; i >= 0; i-- {
			if r.shape[i] != 1 && r.stride[i] != want {
				return nil, fmt.Errorf("tensor %q: non-contiguous view (shape %v, stride %v) is not supported: save tensor.contiguous()", name, r.shape, r.stride)
			}
			want *= r.shape[i]
		}
	}
	if r.offset < 0 || r.offset > s.numel || t.numel > s.numel-r.offset {
		return nil, fmt.Errorf("tensor %q: view [%d, %d) lies outside its storage of %d elements", name, r.offset, r.offset+t.numel, s.numel)
	}
	e, ok := entries[prefix+"data/"+s.key]
	if !ok {
		return nil, fmt.Errorf("tensor %q: storage %q is missing from the archive (truncated file?)", name, s.key)
	}
	esize := int64(s.dtype.Size())
	if got, want := e.UncompressedSize64, uint64(s.numel)*uint64(esize); got != want {
		return nil, fmt.Errorf("tensor %q: storage %q holds %d bytes, its %d %s elements need %d", name, s.key, got, s.numel, s.dtype, want)
	}
	t.size = int64(t.numel) * esize
	t.off = int64(r.offset) * esize
	if e.Method == zip.Store {
		start, err := e.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: storage %q: %w", name, s.key, err)
		}
		if start < 0 || start+int64(e.UncompressedSize64) > src.size || e.CompressedSize64 != e.UncompressedSize64 {
			return nil, fmt.Errorf("tensor %q: storage %q lies past the end of the file (truncated file?)", name, s.key)
		}
		t.off += start
	} else {
		t.entry = e
	}
	return t, nil
}

func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

type namedRef struct {
	name string
	t    *tensorRef
}

// unpickleStateDict runs the pickle of a state dict, allowing only the
// classes torch.save uses for one, and returns its tensors in order.
// Entries that are not tensors are skipped.
func unpickleStateDict(data []byte) (refs []namedRef, err error) {
	cost, err := scanPickleCount(data)
	if err != nil {
		return nil, err
	}
	if cost > pickleBudget(len(data)) {
		return nil, fmt.Errorf("the pickle's %d bytes would allocate about %d MB, more than the %d MB a state dict of its size needs: not a state dict (a memory bomb?)",
			len(data), cost>>20, pickleBudget(len(data))>>20)
	}
	defer func() {
		// gopickle trusts its input in places; a malformed pickle is an error, not a crash.
		if r := recover(); r != nil {
			refs, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	u.PersistentLoad = persistentLoad
	v, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("malformed pickle: %w", err)
	}
	add := func(k, v any) error {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("state dict key %v is not a string", k)
		}
		if t, ok := v.(*tensorRef); ok {
			refs = append(refs, namedRef{name, t})
		}
		return nil
	}
	switch d := v.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			ent := e.Value.(*types.OrderedDictEntry)
			if err := add(ent.Key, ent.Value); err != nil {
				return nil, err
			}
		}
	case *types.Dict:
		for _, ent := range *d {
			if err := add(ent.Key, ent.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("the pickle holds a %T, not a state dict", v)
	}
	return refs, nil
}

func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return callable(rebuildTensor), nil
	case "torch._utils._rebuild_parameter":
		return callable(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, fmt.Errorf("_rebuild_parameter: no tensor")
			}
			return args[0], nil
		}), nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		return &storageType{name}, nil
	}
	return nil, fmt.Errorf("class %s.%s is not allowed in a state dict pickle", module, name)
}

// persistentLoad turns ('storage', torch.XStorage, key, location, numel) into a storageRef.
func persistentLoad(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, fmt.Errorf("persistent id %v is not a storage tuple", pid)
	}
	if kind, _ := t.Get(0).(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id of kind %v is not a storage", t.Get(0))
	}
	st, ok := t.Get(1).(*storageType)
	if !ok {
		return nil, fmt.Errorf("storage type %v is not a torch storage class", t.Get(1))
	}
	key, ok := t.Get(2).(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") {
		return nil, fmt.Errorf("bad storage key %v", t.Get(2))
	}
	numel, err := toInt(t.Get(4))
	if err != nil || numel < 0 {
		return nil, fmt.Errorf("storage %q: bad size %v", key, t.Get(4))
	}
	return &storageRef{dtype: storageDTypes[st.name], class: st.name, key: key, numel: numel}, nil
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset,
// size, stride, requires_grad, backward_hooks[, metadata]).
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments", len(args))
	}
	s, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %v is not a storage", args[0])
	}
	off, err := toInt(args[1])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset: %w", err)
	}
	shape, err := toInts(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size: %w", err)
	}
	stride, err := toInts(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: stride: %w", err)
	}
	return &tensorRef{storage: s, offset: off, shape: shape, stride: stride}, nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		if x < -(1<<50) || x > 1<<50 {
			return 0, fmt.Errorf("%d out of range", x)
		}
		return x, nil
	case *big.Int:
		return 0, fmt.Errorf("%v out of range", x)
	}
	return 0, fmt.Errorf("%v is not an integer", v)
}

func toInts(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%v is not a tuple", v)
	}
	out := make([]int, t.Len())
	for i := range out {
		n, err := toInt(t.Get(i))
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// scanPickleCount walks the opcodes of a pickle without running it,
// checking that every length it announces lies inside the data (so that no
// argument allocates more than the pickle's own size), and sums opCost
// over them: about what running it would allocate.
// opCost is an upper bound of what gopickle allocates for one opcode, in
// bytes, measured with runtime.MemStats.TotalAlloc on pickles of a million
// copies of each (TestUnpicklerMemoryIsBounded): a MARK saves the stack
// and starts a new one (~380 bytes), an empty dict is a map (~240), a list
// or tuple a slice header and its growth, DUP or any push a stack slot and
// its share of the stack's growth. Arguments (strings, bytes) add their own
// length, which the pickle's size already bounds.
var opCost = func() (c [256]int) {
	for i := range c {
		c[i] = 96 // a pushed value, its stack slot and its share of the stack's growth
	}
	for _, op := range []byte{'0', '1', 0x80, 0x95, '.'} { // POP, POP_MARK, PROTO, FRAME, STOP
		c[op] = 0
	}
	c['('] = 400 // MARK
	c['}'] = 256 // EMPTY_DICT
	for _, op := range []byte{']', ')', 0x8f, 'd', 'l', 't', 0x91, 'o', 'i', 0x81, 0x92, 'R', 0x85, 0x86, 0x87} {
		c[op] = 192 // containers and the objects that calls build
	}
	c['2'] = 96 // DUP
	return c
}()

func scanPickleCount(data []byte) (objects int, err error) {
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(data)-i) {
			return fmt.Errorf("truncated pickle: an argument of %d bytes at offset %d runs past its end (%d bytes)", n, i, len(data))
		}
		return nil
	}
	line := func() error {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			return fmt.Errorf("truncated pickle: unterminated line at offset %d", i)
		}
		i += j + 1
		return nil
	}
	for i < len(data) {
		op := data[i]
		i++
		objects += opCost[op]
		var n uint64 // fixed argument size
		var lenBytes int
		switch op {
		case '.': // STOP
			return objects, nil
		case '(', '0', '1', '2', 'N', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 'R', 's', 't', ')', 'u', 'Q',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
		case 0x80, 'K', 'h', 'q', 0x82: // PROTO, BININT1, BINGET, BINPUT, EXT1
			n = 1
		case 'M', 0x83: // BININT2, EXT2
			n = 2
		case 'J', 'j', 'r', 0x84: // BININT, LONG_BINGET, LONG_BINPUT, EXT4
			n = 4
		case 'G': // BINFLOAT
			n = 8
		case 0x95: // FRAME: its length is checked, its contents are opcodes
			n = 8
			if err := need(8); err != nil {
				return objects, err
			}
			if err := need(8 + binary.LittleEndian.Uint64(data[i:])); err != nil {
				return objects, err
			}
		case 'U', 'C', 0x8c, 0x8a: // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE, LONG1
			lenBytes = 1
		case 'T', 'B', 'X', 0x8b: // BINSTRING, BINBYTES, BINUNICODE, LONG4
			lenBytes = 4
		case 0x8d, 0x8e, 0x96: // BINUNICODE8, BINBYTES8, BYTEARRAY8
			lenBytes = 8
		case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p':
			if err := line(); err != nil {
				return objects, err
			}
		case 'c', 'i': // GLOBAL, INST: two lines
			if err := line(); err != nil {
				return objects, err
			}
			if err := line(); err != nil {
				return objects, err
			}
		default:
			return objects, fmt.Errorf("not a pickle: unknown opcode %#02x at offset %d", op, i-1)
		}
		if lenBytes > 0 {
			if err := need(uint64(lenBytes)); err != nil {
				return objects, err
			}
			var l [8]byte
			copy(l[:], data[i:i+lenBytes])
			n = binary.LittleEndian.Uint64(l[:])
			if lenBytes == 4 && n >= 1<<31 { // signed lengths
				return objects, fmt.Errorf("malformed pickle: negative length at offset %d", i)
			}
			if op == 0x8a && n == 0 { // LONG1 of zero bytes is 0, but gopickle cannot read it
				return objects, fmt.Errorf("malformed pickle: empty LONG1 at offset %d", i)
			}
			i += lenBytes
		}
		if op == 0x95 {
			i += 8
			continue
		}
		if err := need(n); err != nil {
			return objects, err
		}
		i += int(n)
	}
	return objects, fmt.Errorf("truncated pickle: no STOP opcode in %d bytes", len(data))
}
