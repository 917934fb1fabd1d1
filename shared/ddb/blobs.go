package ddb

import (
	"context"
	"fmt"
)

// Blobs stores large attribute values outside the table (S3 in production).
// Keys are content addressed, so a put is idempotent.
type Blobs interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
}

// BlobPrefix is where the store offloads large values in the blob store
// (blobs/<kind>/<hash>): the one name the store, Export and the CDK grants
// use.
const BlobPrefix = "blobs/"

// BlobLister is a Blobs that can also list its keys under a prefix: Export
// and Import need one to carry the offloaded values with the table.
type BlobLister interface {
	Blobs
	List(ctx context.Context, prefix string) ([]string, error)
}

// InlineLimit is the largest attribute value kept in an item; larger values
// go to Blobs, or are truncated to this size when the store has none.
const InlineLimit = 64 << 10

// bounded is a large value as stored: inline when small, else a blob pointer
// (with the store's Blobs) or a truncated prefix (without).
type bounded struct {
	Inline    []byte `dynamo:",omitempty"`
	BlobKey   string `dynamo:",omitempty"`
	Size      int    `dynamo:",omitempty"`
	Truncated bool   `dynamo:",omitempty"`
}

// bound stores data under the rules above.
func (s *Store) bound(ctx context.Context, prefix string, data []byte) (bounded, error) {
	if len(data) <= InlineLimit {
		return bounded{Inline: data}, nil
	}
	if s.blobs == nil {
		return bounded{Inline: data[:InlineLimit], Size: len(data), Truncated: true}, nil
	}
	key := BlobPrefix + prefix + "/" + contentKey(data)
	if err := s.blobs.Put(ctx, key, data); err != nil {
		return bounded{}, fmt.Errorf("offload %d bytes to %s: %w", len(data), key, err)
	}
	return bounded{BlobKey: key, Size: len(data)}, nil
}

// unbound reads a bounded value back.
func (s *Store) unbound(ctx context.Context, b bounded) ([]byte, error) {
	if b.BlobKey == "" {
		return b.Inline, nil
	}
	if s.blobs == nil {
		return nil, fmt.Errorf("value offloaded to %s but the store has no blob store", b.BlobKey)
	}
	data, err := s.blobs.Get(ctx, b.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("read offloaded value %s: %w", b.BlobKey, err)
	}
	return data, nil
}
