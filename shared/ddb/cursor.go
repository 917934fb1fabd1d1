package ddb

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// A cursor is the last evaluated key of a page, bound to the list it came
// from: base64url of {"k": {attribute: value}, "t": tag}, where the tag is
// an HMAC-SHA256 (first 12 bytes) of the key under the list's scope (the
// table and the list with its partition, e.g. "scans of integration X").
// A cursor is only accepted by the list that returned it, so a forged one
// (base64 of {"a":"b"}), one of another list or of another partition is a
// 400 before DynamoDB sees it. Its key must also be exactly the key
// attributes of the table or of one index (string values), which is all
// DynamoDB ever returns as a last evaluated key. The tag is a binding, not a
// secret: the scope is no secret, and a cursor a client computes can only
// start a query within the partition the request names (the query's key
// condition), which the caller may read anyway.

// PatternCursor is the shape of every cursor the API returns (base64url
// without padding); openapi.yaml declares it on ?cursor=.
const PatternCursor = `^[A-Za-z0-9_-]+$`

// BadCursor is the reason given for a cursor the API did not return.
const BadCursor = "cursor is not one this API returned"

type cursorBody struct {
	Key map[string]string `json:"k"`
	Tag string            `json:"t"`
}

// cursorScope is what a list's cursors are bound to.
func (s *Store) cursorScope(what string) string { return s.table.Name() + "\x00" + what }

func cursorTag(scope string, key []byte) string {
	m := hmac.New(sha256.New, []byte(scope))
	m.Write(key)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

func encodeCursor(k dynamo.PagingKey, scope string) (string, error) {
	if len(k) == 0 {
		return "", nil
	}
	m := map[string]string{}
	if err := dynamo.UnmarshalItem(k, &m); err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	key, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	b, err := json.Marshal(cursorBody{Key: m, Tag: cursorTag(scope, key)})
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeCursor(c, scope string) (dynamo.PagingKey, error) {
	invalid := citadel.Invalid("%s", BadCursor)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, invalid
	}
	var body cursorBody
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() || !keyAttributes(body.Key) {
		return nil, invalid
	}
	key, err := json.Marshal(body.Key)
	if err != nil {
		return nil, invalid
	}
	if !hmac.Equal([]byte(body.Tag), []byte(cursorTag(scope, key))) {
		return nil, invalid
	}
	av, err := dynamo.MarshalItem(body.Key)
	if err != nil {
		return nil, fmt.Errorf("decode cursor: %w", err)
	}
	return av, nil
}

// keyAttributes reports whether k holds exactly the table's key attributes,
// or those and one index's, each a non-empty string: the shape of a last
// evaluated key.
func keyAttributes(k map[string]string) bool {
	for _, v := range k {
		if v == "" {
			return false
		}
	}
	names := slices.Sorted(maps.Keys(k))
	base := []string{Schema.PartitionKey, Schema.SortKey}
	if slices.Equal(names, slices.Sorted(slices.Values(base))) {
		return true
	}
	for _, ix := range Schema.Indexes {
		want := slices.Sorted(slices.Values(append(slices.Clone(base), ix.PartitionKey, ix.SortKey)))
		if slices.Equal(names, want) {
			return true
		}
	}
	return false
}
