package citadel

import (
	"fmt"
	"iter"
)

// Page is one page of a list; Next is the cursor of the following page, ""
// at the end. The store's List* methods return it and the API writes it as
// it is ({"items": [...], "next": "..."}).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// PageFunc lists the page that starts at cursor ("" is the first page).
type PageFunc[T any] func(cursor string) (Page[T], error)

// Pages walks a paged list from its first page, following each page's
// cursor: it yields each page's items (an error ends the walk, as the last
// pair). A page whose cursor is the one it was listed with ends the walk
// with an error rather than looping for ever.
func Pages[T any](list PageFunc[T]) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		cursor := ""
		for {
			page, err := list(cursor)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page.Items, nil) || page.Next == "" {
				return
			}
			if page.Next == cursor {
				yield(nil, fmt.Errorf("paged list: the page at cursor %q names itself as the next", cursor))
				return
			}
			cursor = page.Next
		}
	}
}

// Items walks a paged list item by item (see Pages); an error is yielded
// with the zero item, last.
func Items[T any](list PageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for items, err := range Pages(list) {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}
