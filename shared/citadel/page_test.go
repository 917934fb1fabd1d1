package citadel_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// pager lists items by pages of size; failAt (a cursor) fails, loopAt
// returns its own cursor as the next.
func pager(items []int, size int, failAt, loopAt string, calls *[]string) citadel.PageFunc[int] {
	return func(cursor string) (citadel.Page[int], error) {
		*calls = append(*calls, cursor)
		if cursor == failAt && failAt != "" || failAt == "first" && cursor == "" {
			return citadel.Page[int]{}, errors.New("boom")
		}
		start := 0
		if cursor != "" {
			start, _ = strconv.Atoi(cursor)
		}
		end := min(start+size, len(items))
		p := citadel.Page[int]{Items: items[start:end]}
		if end < len(items) {
			p.Next = strconv.Itoa(end)
		}
		if cursor == loopAt && loopAt != "" {
			p.Next = cursor
		}
		return p, nil
	}
}

func TestPagesAndItems(t *testing.T) {
	seven := []int{1, 2, 3, 4, 5, 6, 7}
	tests := map[string]struct {
		items          []int
		size           int
		failAt, loopAt string
		stopAfter      int // items taken before the loop breaks (0: all)
		want           []int
		wantErr        string
		wantCalls      []string
	}{
		"empty list":          {items: nil, size: 3, want: nil, wantCalls: []string{""}},
		"one page":            {items: []int{1, 2}, size: 3, want: []int{1, 2}, wantCalls: []string{""}},
		"exact pages":         {items: seven[:6], size: 3, want: seven[:6], wantCalls: []string{"", "3"}},
		"three pages":         {items: seven, size: 3, want: seven, wantCalls: []string{"", "3", "6"}},
		"error on first page": {items: seven, size: 3, failAt: "first", wantErr: "boom", wantCalls: []string{""}},
		"error mid-list":      {items: seven, size: 3, failAt: "3", want: seven[:3], wantErr: "boom", wantCalls: []string{"", "3"}},
		"cursor loops":        {items: seven, size: 3, loopAt: "3", want: seven[:6], wantErr: `cursor "3" names itself`, wantCalls: []string{"", "3"}},
		"caller stops early":  {items: seven, size: 3, stopAfter: 2, want: seven[:2], wantCalls: []string{""}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var calls []string
			var got []int
			var gotErr error
			for it, err := range citadel.Items(pager(tc.items, tc.size, tc.failAt, tc.loopAt, &calls)) {
				if err != nil {
					gotErr = err
					break
				}
				got = append(got, it)
				if tc.stopAfter > 0 && len(got) == tc.stopAfter {
					break
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("items (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantCalls, calls); d != "" {
				t.Errorf("cursors listed (-want +got):\n%s", d)
			}
			switch {
			case tc.wantErr == "" && gotErr != nil:
				t.Errorf("error %v, want none", gotErr)
			case tc.wantErr != "" && (gotErr == nil || !strings.Contains(gotErr.Error(), tc.wantErr)):
				t.Errorf("error %v, want one saying %q", gotErr, tc.wantErr)
			}
		})
	}
}

func TestPagesYieldsWholePages(t *testing.T) {
	var calls []string
	var got [][]int
	for items, err := range citadel.Pages(pager([]int{1, 2, 3, 4, 5}, 2, "", "", &calls)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items)
	}
	if d := cmp.Diff([][]int{{1, 2}, {3, 4}, {5}}, got); d != "" {
		t.Errorf("pages (-want +got):\n%s", d)
	}
}
