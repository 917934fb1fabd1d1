package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// pageParams reads ?limit= and ?cursor= (already validated by the document).
func pageParams(r *http.Request) (limit int, cursor string, err error) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, "", citadel.Invalid("limit %q must be an integer from 1 to 1000", v)
		}
	}
	return limit, q.Get("cursor"), nil
}

// listPage answers one page of the list of owner (a folder or an
// integration) from ?limit= and ?cursor=.
func listPage[T any](w http.ResponseWriter, r *http.Request, owner string,
	list func(ctx context.Context, owner string, limit int, cursor string) (citadel.Page[T], error)) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := list(r.Context(), owner, limit, cursor)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

// writePage answers a list: items is never null.
func writePage[T any](w http.ResponseWriter, p citadel.Page[T]) {
	if p.Items == nil {
		p.Items = []T{}
	}
	writeJSON(w, http.StatusOK, p)
}

// nonNil turns a nil slice into an empty one, for JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
