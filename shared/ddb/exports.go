package ddb

import (
	"context"
	"fmt"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Export jobs (citadel.Export): created queued by the API, moved to
// running, then succeeded or failed by the export job, each move
// conditional on the status read; listed newest first; gone after
// citadel.ExportRetention (TTL), as their files are (the bucket's rule).

type exportItem struct {
	item
	citadel.Export
}

func newExportItem(e citadel.Export) exportItem {
	it := newItem(TypeExport, exportKey(e.ID)).withGSI1(exportsGSI(e.CreatedAt, e.ID))
	it.ExpiresAt = e.Expires.Unix()
	return exportItem{it, e}
}

// CreateExport stores a new export job; an existing id is a conflict.
func (s *Store) CreateExport(ctx context.Context, e citadel.Export) error {
	return s.put(ctx, newExportItem(e), "attribute_not_exists($)", AttrPK)
}

// GetExport reads an export job (consistent: the job's moves are read
// right after they are made).
func (s *Store) GetExport(ctx context.Context, id string) (citadel.Export, error) {
	var it exportItem
	err := s.getConsistent(ctx, exportKey(id), &it, "export "+id)
	return it.Export, err
}

// UpdateExport replaces an export job if its stored status is still from:
// of two moves at once one wins, the other is a conflict.
func (s *Store) UpdateExport(ctx context.Context, from citadel.ExportStatus, e citadel.Export) error {
	if err := s.put(ctx, newExportItem(e), "'Status' = ?", from); err != nil {
		return fmt.Errorf("export %s from %s to %s: %w", e.ID, from, e.Status, err)
	}
	return nil
}

// ListExports lists the deployment's export jobs, newest first, a page at a
// time (one range of GSI1).
func (s *Store) ListExports(ctx context.Context, limit int, cursor string) (citadel.Page[citadel.Export], error) {
	var items []exportItem
	q := s.byGSI1(exportsPK).Order(dynamo.Descending)
	next, err := s.queryPage(ctx, q, limit, cursor, &items, "exports")
	if err != nil {
		return citadel.Page[citadel.Export]{}, err
	}
	return citadel.Page[citadel.Export]{Items: unwrap(items, func(it exportItem) citadel.Export { return it.Export }), Next: next}, nil
}
