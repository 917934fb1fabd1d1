// Package diff compares what a step means to store with what is stored, by
// key: the "load, index, compare, put" every sync repeats (the catalog
// import, asset sync). It is pure: the callers load and write.
package diff

// Pair is a wanted item and the stored item of the same key, if any.
type Pair[S, W any] struct {
	Want   W
	Stored S
	Found  bool // false: no stored item has Want's key
}

// Match pairs each wanted item, in want's order, with the stored item of its
// key, and returns the stored items whose key no wanted item has, in
// stored's order. Of stored items sharing a key the last is paired.
func Match[S, W any, K comparable](stored []S, storedKey func(S) K, want []W, wantKey func(W) K) (pairs []Pair[S, W], gone []S) {
	byKey := make(map[K]S, len(stored))
	for _, s := range stored {
		byKey[storedKey(s)] = s
	}
	wanted := make(map[K]bool, len(want))
	pairs = make([]Pair[S, W], 0, len(want))
	for _, w := range want {
		k := wantKey(w)
		wanted[k] = true
		s, ok := byKey[k]
		pairs = append(pairs, Pair[S, W]{Want: w, Stored: s, Found: ok})
	}
	for _, s := range stored {
		if !wanted[storedKey(s)] {
			gone = append(gone, s)
		}
	}
	return pairs, gone
}

// Changed returns the wanted items that are new or differ from the stored
// item of their key (same(stored, wanted) says they do not), in want's
// order, and the stored items no longer wanted, in stored's order.
func Changed[T any, K comparable](stored, want []T, key func(T) K, same func(stored, wanted T) bool) (put, gone []T) {
	pairs, gone := Match(stored, key, want, key)
	for _, p := range pairs {
		if !p.Found || !same(p.Stored, p.Want) {
			put = append(put, p.Want)
		}
	}
	return put, gone
}
