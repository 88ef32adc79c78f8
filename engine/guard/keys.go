package guard

// keyMatcher finds every occurrence of a set of literal keys in one pass over
// a text (Aho–Corasick, as a DFA over the bytes that occur in the keys).
type keyMatcher struct {
	class  [256]uint8 // byte → column; 0 for bytes that occur in no key
	cols   int
	next   []int32   // state*cols + column → state
	out    [][]int32 // keys that end in each state, suffixes included
	keyLen []int
}

func newKeyMatcher(keys []string) *keyMatcher {
	m := &keyMatcher{cols: 1}
	for _, k := range keys {
		for i := 0; i < len(k); i++ {
			if m.class[k[i]] == 0 {
				m.class[k[i]] = uint8(m.cols)
				m.cols++
			}
		}
		m.keyLen = append(m.keyLen, len(k))
	}
	// The trie.
	next := [][]int32{make([]int32, m.cols)}
	out := [][]int32{nil}
	for ki, k := range keys {
		s := int32(0)
		for i := 0; i < len(k); i++ {
			c := m.class[k[i]]
			if next[s][c] == 0 {
				next = append(next, make([]int32, m.cols))
				out = append(out, nil)
				next[s][c] = int32(len(next) - 1)
			}
			s = next[s][c]
		}
		out[s] = append(out[s], int32(ki))
	}
	// Failure links, breadth first, turning the trie into a DFA.
	fail := make([]int32, len(next))
	queue := []int32{}
	for c := 1; c < m.cols; c++ {
		if t := next[0][c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		out[s] = append(out[s], out[fail[s]]...)
		for c := 1; c < m.cols; c++ {
			t := next[s][c]
			if t == 0 {
				next[s][c] = next[fail[s]][c]
				continue
			}
			fail[t] = next[fail[s]][c]
			queue = append(queue, t)
		}
	}
	m.next = make([]int32, len(next)*m.cols)
	for s, row := range next {
		copy(m.next[s*m.cols:], row)
	}
	m.out = out
	return m
}

// find calls fn with the index and start offset of every occurrence of a
// key in text, in order of their ends.
func (m *keyMatcher) find(text string, fn func(key, start int)) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.next[int(s)*m.cols+int(m.class[text[i]])]
		for _, k := range m.out[s] {
			fn(int(k), i+1-m.keyLen[k])
		}
	}
}
