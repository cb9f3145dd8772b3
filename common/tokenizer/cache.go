package tokenizer

import (
	"strings"
	"sync"
)

// wordCache remembers the ids of words (pre-tokens, as raw bytes) already
// run through BPE. It is bounded: when full it is emptied and refilled, so a
// long stream of ever new words cannot grow it without limit. Safe for
// concurrent use.
type wordCache struct {
	mu  sync.RWMutex
	m   map[string][]int32
	max int
}

const (
	cacheEntries = 1 << 17 // words kept before the cache is emptied
	cacheWordLen = 64      // longer words are not cached
)

func newWordCache(max int) *wordCache {
	return &wordCache{m: make(map[string][]int32), max: max}
}

func (c *wordCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	if len(word) > cacheWordLen || c.max <= 0 {
		return
	}
	// Own copies: the word may be a slice of a large text, ids of a buffer.
	w := strings.Clone(word)
	v := append([]int32(nil), ids...)
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[w] = v
	c.mu.Unlock()
}

func (c *wordCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
