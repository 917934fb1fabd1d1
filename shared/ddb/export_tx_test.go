package ddb

import (
	"context"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// CreateBoth creates two items in one transaction, each only if it does not
// exist yet, the way StartScan takes a scan lock: the test hook for the
// mapping and retry of cancelled transactions.
func (s *Store) CreateBoth(ctx context.Context, a, b TestItem) error {
	err := s.db.WriteTx().
		Put(s.table.Put(a).If("attribute_not_exists(PK)")).
		Put(s.table.Put(b).If("attribute_not_exists(PK)")).
		Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return citadel.Conflict("%s/%s or %s/%s already exists", a.PK, a.SK, b.PK, b.SK)
	}
	return wrapAWS(err, "create both")
}

var (
	EncodeCursor  = encodeCursor
	DecodeCursor  = decodeCursor
	KeyAttributes = keyAttributes
)
