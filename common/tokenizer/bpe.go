package tokenizer

// The BPE model: a word (one pre-token, as raw bytes) starts as one symbol
// per byte, the vocabulary id of the byte's byte-level rune; then the
// adjacent pair with the lowest merge rank is merged, the leftmost of equal
// ranks first, until no adjacent pair has a merge. This is what HF's
// Word::merge_all computes with its priority queue.

// merge is what a pair of ids becomes: its rank (the line in the merges
// list) and the id of the merged token.
type merge struct {
	rank int32
	id   int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

type bpeModel struct {
	merges map[uint64]merge
	// byteID[b] is the id of byte b's byte-level rune, -1 if not in the vocabulary.
	byteID  [256]int32
	unk     int32 // id of the unknown token, -1 if none
	fuseUnk bool
	// wholeID holds, when the file sets ignore_merges, the ids of all
	// vocabulary tokens by their raw bytes: a word that is a token is not merged.
	wholeID map[string]int32
}

// longWord is the length above which merging uses a heap instead of
// rescanning the pairs after each merge.
const longWord = 48

// initial appends the starting symbols of word to sym.
func (m *bpeModel) initial(sym []int32, word string) []int32 {
	prevUnk := false
	for i := 0; i < len(word); i++ {
		id := m.byteID[word[i]]
		if id >= 0 {
			sym = append(sym, id)
			prevUnk = false
			continue
		}
		if m.unk < 0 {
			continue // HF drops runes it cannot map when there is no unk_token
		}
		if m.fuseUnk && prevUnk {
			continue
		}
		sym = append(sym, m.unk)
		prevUnk = true
	}
	return sym
}

// tokenize appends the ids of word to dst; scratch is reusable space.
func (m *bpeModel) tokenize(dst []int32, word string, scratch *[]int32) []int32 {
	if m.wholeID != nil {
		if id, ok := m.wholeID[word]; ok {
			return append(dst, id)
		}
	}
	sym := m.initial((*scratch)[:0], word)
	if len(sym) > longWord {
		sym = m.mergeHeap(sym)
	} else {
		sym = m.mergeScan(sym)
	}
	*scratch = sym
	return append(dst, sym...)
}

const noRank = int32(1<<31 - 1)

func (m *bpeModel) pairRank(a, b int32) merge {
	if mg, ok := m.merges[pairKey(a, b)]; ok {
		return mg
	}
	return merge{rank: noRank, id: -1}
}

// mergeScan merges a short word in place: after each merge only the two
// pairs touching the new symbol are looked up again.
func (m *bpeModel) mergeScan(sym []int32) []int32 {
	if len(sym) < 2 {
		return sym
	}
	var buf [longWord]merge
	pairs := buf[:len(sym)-1]
	for i := range pairs {
		pairs[i] = m.pairRank(sym[i], sym[i+1])
	}
	for {
		best := -1
		bestRank := noRank
		for i, p := range pairs {
			if p.rank < bestRank {
				best, bestRank = i, p.rank
			}
		}
		if best < 0 {
			return sym
		}
		sym[best] = pairs[best].id
		sym = append(sym[:best+1], sym[best+2:]...)
		pairs = append(pairs[:best], pairs[best+1:]...)
		if best > 0 {
			pairs[best-1] = m.pairRank(sym[best-1], sym[best])
		}
		if best < len(pairs) {
			pairs[best] = m.pairRank(sym[best], sym[best+1])
		}
	}
}

// heapItem is a candidate merge of the symbol at pos with its right neighbour.
type heapItem struct {
	rank, pos, id int32
}

func (a heapItem) less(b heapItem) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

type mergeHeap []heapItem

func (h *mergeHeap) push(x heapItem) {
	*h = append(*h, x)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() heapItem {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && s[r].less(s[l]) {
			c = r
		}
		if !s[c].less(s[i]) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return top
}

// mergeHeap merges a long word with a priority queue of candidate merges
// over a linked list of symbols, as HF does; entries made stale by an
// earlier merge are recognised and dropped when popped.
func (m *bpeModel) mergeHeap(sym []int32) []int32 {
	n := len(sym)
	next := make([]int32, n)
	prev := make([]int32, n)
	alive := make([]bool, n)
	h := make(mergeHeap, 0, n)
	for i := range sym {
		next[i] = int32(i + 1)
		prev[i] = int32(i - 1)
		alive[i] = true
		if i+1 < n {
			if mg := m.pairRank(sym[i], sym[i+1]); mg.id >= 0 {
				h.push(heapItem{mg.rank, int32(i), mg.id})
			}
		}
	}
	for len(h) > 0 {
		top := h.pop()
		p := top.pos
		if !alive[p] || next[p] >= int32(n) {
			continue
		}
		q := next[p]
		if mg := m.pairRank(sym[p], sym[q]); mg.id != top.id {
			continue // stale: the pair at p has changed
		}
		sym[p] = top.id
		alive[q] = false
		next[p] = next[q]
		if next[p] < int32(n) {
			prev[next[p]] = p
		}
		if pp := prev[p]; pp >= 0 {
			if mg := m.pairRank(sym[pp], sym[p]); mg.id >= 0 {
				h.push(heapItem{mg.rank, pp, mg.id})
			}
		}
		if nn := next[p]; nn < int32(n) {
			if mg := m.pairRank(sym[p], sym[nn]); mg.id >= 0 {
				h.push(heapItem{mg.rank, p, mg.id})
			}
		}
	}
	out := sym[:0]
	for i := 0; i < n; i++ {
		if alive[i] {
			out = append(out, sym[i])
		}
	}
	return out
}
