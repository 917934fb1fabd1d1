package ddb

import "context"

// Test hooks into the store's internals, for the external test package
// (which may import testenv; an internal test could not without a cycle).

type TestItem struct {
	item
	N    int
	Body string
}

func NewTestItem(pk, sk string, n int, body string) TestItem {
	return TestItem{newItem("Test", Key{pk, sk}), n, body}
}

func (t TestItem) Key() Key { return t.key() }

type Bounded = bounded

func (s *Store) BatchPut(ctx context.Context, items []any) error   { return s.batchPut(ctx, items) }
func (s *Store) BatchDelete(ctx context.Context, keys []Key) error { return s.batchDelete(ctx, keys) }
func (s *Store) Put(ctx context.Context, v any, cond string) error { return s.put(ctx, v, cond) }
func (s *Store) QueryAllPK(ctx context.Context, pk string, out any) error {
	return s.queryAll(ctx, s.byPK(pk), out, pk)
}
func (s *Store) QueryPagePK(ctx context.Context, pk string, limit int, cursor string, out any) (string, error) {
	return s.queryPage(ctx, s.byPK(pk), limit, cursor, out, pk)
}
func (s *Store) Bound(ctx context.Context, prefix string, data []byte) (Bounded, error) {
	return s.bound(ctx, prefix, data)
}
func (s *Store) Unbound(ctx context.Context, b Bounded) ([]byte, error) { return s.unbound(ctx, b) }

var WrapAWS = wrapAWS
