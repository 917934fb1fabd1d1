package ddb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
	"golang.org/x/sync/errgroup"
)

// An export is a folder that holds a table and its offloaded values: the
// table's items in DynamoDB JSON, one item a line, and every blob under
// BlobPrefix as a file (the local server forgets everything when it stops,
// so `make demo` keeps Citadel's data between runs in one).
const (
	ExportTableFile = "table.jsonl"
	ExportBlobsDir  = "blobs"
)

// importWorkers is how many batch writes Import runs at once.
const importWorkers = 4

// Exported counts what Export wrote or Import put back.
type Exported struct {
	Items, Blobs int
}

// Export writes every item of the store's table and every blob under
// BlobPrefix of its blob store into dir, replacing what was there. A store
// without a blob store exports its items alone; one whose blob store cannot
// list its keys is refused.
func (s *Store) Export(ctx context.Context, dir string) (Exported, error) {
	var n Exported
	lister, err := s.blobLister()
	if err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ExportBlobsDir), 0o755); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	if n.Items, err = s.exportItems(ctx, filepath.Join(dir, ExportTableFile)); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	if lister == nil {
		return n, nil
	}
	keys, err := lister.List(ctx, BlobPrefix)
	if err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	for _, key := range keys {
		data, err := lister.Get(ctx, key)
		if err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		path := filepath.Join(dir, ExportBlobsDir, filepath.FromSlash(strings.TrimPrefix(key, BlobPrefix)))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		n.Blobs++
	}
	return n, nil
}

// exportItems scans the table (strongly consistent) into path through a
// temporary file, so a failed export leaves the last one whole.
func (s *Store) exportItems(ctx context.Context, path string) (int, error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	items := 0
	var cc dynamo.ConsumedCapacity
	it := s.table.Scan().Consistent(true).ConsumedCapacity(&cc).Iter()
	var av rawItem
	for it.Next(ctx, &av) {
		b, err := json.Marshal(toDynamoJSON(&types.AttributeValueMemberM{Value: av}))
		if err != nil {
			f.Close()
			return items, err
		}
		w.Write(b)
		w.WriteByte('\n')
		items++
		av = nil
	}
	s.record(&cc, 0)
	if err := it.Err(); err != nil {
		f.Close()
		return items, wrapAWS(err, "scan "+s.table.Name())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return items, err
	}
	if err := f.Close(); err != nil {
		return items, err
	}
	return items, os.Rename(tmp, path)
}

// Import puts the items and blobs of an export in dir back into the store's
// table and blob store, with the store's batch writer. The whole file is
// read and checked first: a damaged line is refused with its number before
// anything is written. A folder without an export imports nothing.
func (s *Store) Import(ctx context.Context, dir string) (Exported, error) {
	var n Exported
	b, err := os.ReadFile(filepath.Join(dir, ExportTableFile))
	if errors.Is(err, os.ErrNotExist) {
		return n, nil
	}
	if err != nil {
		return n, fmt.Errorf("import: %w", err)
	}
	items, err := parseExport(b)
	if err != nil {
		return n, fmt.Errorf("import: %w", err)
	}
	blobs, err := exportedBlobs(filepath.Join(dir, ExportBlobsDir))
	if err != nil {
		return n, fmt.Errorf("import: %w", err)
	}
	if len(blobs) > 0 && s.blobs == nil {
		return n, fmt.Errorf("import: %d blobs in %s but the store has no blob store", len(blobs), dir)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(importWorkers)
	for i := 0; i < len(items); i += batchWriteSize {
		batch := items[i:min(i+batchWriteSize, len(items))]
		g.Go(func() error { return s.batchPut(gctx, batch) })
	}
	if err := g.Wait(); err != nil {
		return n, fmt.Errorf("import: %w", err)
	}
	n.Items = len(items)
	for _, rel := range blobs {
		data, err := os.ReadFile(filepath.Join(dir, ExportBlobsDir, filepath.FromSlash(rel)))
		if err != nil {
			return n, fmt.Errorf("import: %w", err)
		}
		if err := s.blobs.Put(ctx, BlobPrefix+rel, data); err != nil {
			return n, fmt.Errorf("import: %w", err)
		}
		n.Blobs++
	}
	return n, nil
}

// batchWriteSize is DynamoDB's limit of items in one BatchWriteItem request.
const batchWriteSize = 25

// parseExport reads the table file's items (rawItem values for batchPut).
func parseExport(b []byte) ([]any, error) {
	var items []any
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", ExportTableFile, i+1, err)
		}
		av, err := fromDynamoJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", ExportTableFile, i+1, err)
		}
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("%s line %d: not an item", ExportTableFile, i+1)
		}
		items = append(items, rawItem(m.Value))
	}
	return items, nil
}

// exportedBlobs lists the blob files under root by their slash-separated
// path below it (none when root does not exist).
func exportedBlobs(root string) ([]string, error) {
	var rels []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) && path == root {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	return rels, err
}

// UnmarshalDynamoItem keeps a scanned item as it is (Export reads them so).
func (r *rawItem) UnmarshalDynamoItem(av map[string]types.AttributeValue) error {
	*r = av
	return nil
}

// blobLister is the store's blob store as a lister (nil without one).
func (s *Store) blobLister() (BlobLister, error) {
	if s.blobs == nil {
		return nil, nil
	}
	l, ok := s.blobs.(BlobLister)
	if !ok {
		return nil, fmt.Errorf("the store's blob store (%T) cannot list its blobs", s.blobs)
	}
	return l, nil
}
