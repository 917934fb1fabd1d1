package diff_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/diff"
)

type item struct {
	ID  string
	Val int
}

func id(i item) string { return i.ID }

func equal(a, b item) bool { return a == b }

func TestChanged(t *testing.T) {
	a1, a2, b1, c1, d1 := item{"a", 1}, item{"a", 2}, item{"b", 1}, item{"c", 1}, item{"d", 1}
	tests := map[string]struct {
		stored, want []item
		same         func(a, b item) bool
		put, gone    []item
	}{
		"nothing at all":          {},
		"all new":                 {want: []item{b1, a1}, put: []item{b1, a1}},
		"all gone":                {stored: []item{a1, b1}, gone: []item{a1, b1}},
		"unchanged writes none":   {stored: []item{a1, b1}, want: []item{b1, a1}},
		"changed value":           {stored: []item{a1, b1}, want: []item{a2, b1}, put: []item{a2}},
		"new, changed and gone":   {stored: []item{d1, a1, b1}, want: []item{c1, a2}, put: []item{c1, a2}, gone: []item{d1, b1}},
		"same decides":            {stored: []item{a1}, want: []item{a2}, same: func(a, b item) bool { return a.ID == b.ID }},
		"duplicate wanted key":    {stored: []item{a1}, want: []item{a2, a2}, put: []item{a2, a2}},
		"last stored of a key":    {stored: []item{a2, a1}, want: []item{a1}},
		"order is want's, gone's": {stored: []item{c1, b1, a1}, want: []item{d1}, put: []item{d1}, gone: []item{c1, b1, a1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			same := tc.same
			if same == nil {
				same = equal
			}
			put, gone := diff.Changed(tc.stored, tc.want, id, same)
			if d := cmp.Diff(tc.put, put); d != "" {
				t.Errorf("put (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.gone, gone); d != "" {
				t.Errorf("gone (-want +got):\n%s", d)
			}
		})
	}
}

// Match pairs items of two types by a shared key.
func TestMatch(t *testing.T) {
	type state struct {
		ARN  string
		Hash string
	}
	stored := []state{{"arn:1", "h1"}, {"arn:2", "h2"}, {"arn:3", "h3"}}
	want := []item{{"arn:3", 3}, {"arn:4", 4}, {"arn:1", 1}}
	pairs, gone := diff.Match(stored, func(s state) string { return s.ARN }, want, id)
	wantPairs := []diff.Pair[state, item]{
		{Want: item{"arn:3", 3}, Stored: state{"arn:3", "h3"}, Found: true},
		{Want: item{"arn:4", 4}},
		{Want: item{"arn:1", 1}, Stored: state{"arn:1", "h1"}, Found: true},
	}
	if d := cmp.Diff(wantPairs, pairs); d != "" {
		t.Errorf("pairs (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]state{{"arn:2", "h2"}}, gone); d != "" {
		t.Errorf("gone (-want +got):\n%s", d)
	}
}
