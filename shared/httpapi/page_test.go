package httpapi

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestPageOf(t *testing.T) {
	id := func(s string) string { return s }
	cur := func(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }
	for _, tc := range []struct {
		name     string
		items    []string
		limit    int
		cursor   string
		want     []string
		wantNext string
		invalid  bool
	}{
		{"first page, sorted", []string{"c", "a", "b"}, 2, "", []string{"a", "b"}, cur("b"), false},
		{"last page", []string{"c", "a", "b"}, 2, cur("b"), []string{"c"}, "", false},
		{"exact fit has no next", []string{"a", "b"}, 2, "", []string{"a", "b"}, "", false},
		{"cursor key gone since", []string{"a", "c", "d"}, 1, cur("b"), []string{"c"}, cur("c"), false},
		{"cursor past the end", []string{"a"}, 5, cur("z"), []string{}, "", false},
		{"empty list", nil, 5, "", []string{}, "", false},
		{"not base64", []string{"a"}, 5, "%%", nil, "", true},
		{"base64 of no key (forged)", []string{"a"}, 5, cur(`{"a":"b"}`), nil, "", true},
		{"one page", []string{"a"}, 5, "", []string{"a"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := pageOf(tc.items, id, citadel.ValidFrameworkID, tc.limit, tc.cursor)
			if tc.invalid {
				if !citadel.IsInvalid(err) {
					t.Fatalf("err %v, want invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Items == nil {
				p.Items = []string{}
			}
			if d := cmp.Diff(tc.want, p.Items); d != "" || p.Next != tc.wantNext {
				t.Errorf("items (-want +got):\n%s next %q, want %q", d, p.Next, tc.wantNext)
			}
		})
	}
}
