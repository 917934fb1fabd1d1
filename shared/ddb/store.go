package ddb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// MaxItemSize is DynamoDB's item size limit.
const MaxItemSize = 400 * 1024

// Store is the DynamoDB store. It is safe for concurrent use.
type Store struct {
	db    *dynamo.DB
	table dynamo.Table
	blobs Blobs
	clock citadel.Clock

	mu    sync.Mutex
	usage citadel.Usage
}

// Option configures a Store.
type Option func(*Store)

// WithBlobs lets the store offload large attributes (raw outputs, snapshots)
// to S3 instead of truncating them.
func WithBlobs(b Blobs) Option { return func(s *Store) { s.blobs = b } }

// WithClock injects the clock (tests use a fixed one).
func WithClock(c citadel.Clock) Option { return func(s *Store) { s.clock = c } }

// New returns a store on the named table. Its client retries a transaction
// cancelled by a concurrent one (RetryTransactionConflicts).
func New(cfg aws.Config, tableName string, opts ...Option) *Store {
	return NewFromClient(dynamodb.NewFromConfig(cfg, RetryTransactionConflicts), tableName, opts...)
}

// NewFromClient returns a store on the named table through an existing client.
func NewFromClient(client *dynamodb.Client, tableName string, opts ...Option) *Store {
	db := dynamo.NewFromIface(client)
	s := &Store{db: db, table: db.Table(tableName), clock: citadel.SystemClock}
	for _, o := range opts {
		o(s)
	}
	return s
}

// TableName is the name of the store's table.
func (s *Store) TableName() string { return s.table.Name() }

// Usage returns the requests and capacity units the store has used so far.
// Read units are what DynamoDB reports; write units are computed from the
// written items' sizes by DynamoDB's rule (1 unit per started KB, per item,
// and again for each GSI the item is in), because local emulators report a
// flat 1 per request.
func (s *Store) Usage() citadel.Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage
}

func (s *Store) record(cc *dynamo.ConsumedCapacity, writeUnits float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage.Requests += cc.Requests
	s.usage.ReadUnits += cc.Read
	if cc.Read == 0 && writeUnits == 0 {
		s.usage.ReadUnits += cc.Total
	}
	s.usage.WriteUnits += writeUnits
}

// item is what every stored item embeds: its keys and type.
type item struct {
	PK        string `dynamo:"PK,hash"`
	SK        string `dynamo:"SK,range"`
	Type      string `dynamo:"Type"`
	GSI1PK    string `dynamo:"GSI1PK,omitempty"`
	GSI1SK    string `dynamo:"GSI1SK,omitempty"`
	GSI2PK    string `dynamo:"GSI2PK,omitempty"`
	GSI2SK    string `dynamo:"GSI2SK,omitempty"`
	ExpiresAt int64  `dynamo:"ExpiresAt,omitempty"`
}

func newItem(typ string, k Key) item { return item{PK: k.PK, SK: k.SK, Type: typ} }

func (it item) withGSI1(g GSIKey) item { it.GSI1PK, it.GSI1SK = g.PK, g.SK; return it }
func (it item) withGSI2(g GSIKey) item { it.GSI2PK, it.GSI2SK = g.PK, g.SK; return it }

// key returns the primary key of an item.
func (it item) key() Key { return Key{it.PK, it.SK} }

// --- size and units ------------------------------------------------------------

// itemSize computes the size of a marshalled item as DynamoDB counts it.
func itemSize(av map[string]types.AttributeValue) int {
	n := 0
	for k, v := range av {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += len(s)/2 + 1
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += valueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + itemSize(v.Value) + len(v.Value)
	}
	return 0
}

// writeUnits is the write capacity of putting av: one unit per started KB,
// for the table and for each GSI the item appears in.
func writeUnits(av map[string]types.AttributeValue) float64 {
	size := itemSize(av)
	units := float64((size + 1023) / 1024)
	if units == 0 {
		units = 1
	}
	copies := 1.0
	for _, ix := range Schema.Indexes {
		if _, ok := av[ix.PartitionKey]; ok {
			copies++
		}
	}
	return units * copies
}

// ErrItemTooLarge is returned for an item over DynamoDB's 400 KB limit,
// before any request is sent; errors.As finds its *ItemTooLargeError.
var ErrItemTooLarge = errors.New("item exceeds DynamoDB's 400 KB limit")

// ItemTooLargeError is an item refused for its size: what it is (its type and
// key) and its size as DynamoDB counts it.
type ItemTooLargeError struct {
	Item string
	Size int
}

func (e *ItemTooLargeError) Error() string {
	return fmt.Sprintf("%s: %s is %d bytes", ErrItemTooLarge, e.Item, e.Size)
}

// Is makes errors.Is(err, ErrItemTooLarge) hold.
func (e *ItemTooLargeError) Is(target error) bool { return target == ErrItemTooLarge }

func marshalChecked(v any) (map[string]types.AttributeValue, error) {
	av, err := dynamo.MarshalItem(v)
	if err != nil {
		return nil, fmt.Errorf("marshal item: %w", err)
	}
	if n := itemSize(av); n > MaxItemSize {
		return nil, &ItemTooLargeError{Item: describe(av), Size: n}
	}
	return av, nil
}

func describe(av map[string]types.AttributeValue) string {
	s := func(k string) string {
		if v, ok := av[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return fmt.Sprintf("%s %s/%s", s(AttrType), s(AttrPK), s(AttrSK))
}

// --- basic operations --------------------------------------------------------------

// put writes one item, with an optional condition. A failed condition is a
// conflict error.
func (s *Store) put(ctx context.Context, v any, cond string, args ...any) error {
	av, err := marshalChecked(v)
	if err != nil {
		return err
	}
	var cc dynamo.ConsumedCapacity
	p := s.table.Put(rawItem(av)).ConsumedCapacity(&cc)
	if cond != "" {
		p = p.If(cond, args...)
	}
	err = p.Run(ctx)
	s.record(&cc, writeUnits(av))
	if dynamo.IsCondCheckFailed(err) {
		if s.holds(ctx, av) {
			// The SDK retried a request whose first attempt went through
			// (its answer was lost): the item is already what we wrote.
			return nil
		}
		return citadel.Conflict("%s already exists or changed", describe(av))
	}
	return wrapAWS(err, "put "+describe(av))
}

// holds reports whether the table holds exactly av (a consistent read).
func (s *Store) holds(ctx context.Context, av map[string]types.AttributeValue) bool {
	pk, _ := av[AttrPK].(*types.AttributeValueMemberS)
	sk, _ := av[AttrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return false
	}
	var stored map[string]types.AttributeValue
	var cc dynamo.ConsumedCapacity
	err := s.table.Get(AttrPK, pk.Value).Range(AttrSK, dynamo.Equal, sk.Value).Consistent(true).ConsumedCapacity(&cc).One(ctx, &stored)
	s.record(&cc, 0)
	if err != nil {
		return false
	}
	var want, got map[string]any
	if err := dynamo.UnmarshalItem(av, &want); err != nil {
		return false
	}
	if err := dynamo.UnmarshalItem(stored, &got); err != nil {
		return false
	}
	return reflect.DeepEqual(want, got)
}

// get reads one item by key into out; a missing item is a not-found error.
func (s *Store) get(ctx context.Context, k Key, out any, what string) error {
	return s.getItem(ctx, k, out, what, false)
}

// getConsistent is get with a strongly consistent read: what a conditional
// write of the item will be compared with.
func (s *Store) getConsistent(ctx context.Context, k Key, out any, what string) error {
	return s.getItem(ctx, k, out, what, true)
}

func (s *Store) getItem(ctx context.Context, k Key, out any, what string, consistent bool) error {
	var cc dynamo.ConsumedCapacity
	err := s.table.Get(AttrPK, k.PK).Range(AttrSK, dynamo.Equal, k.SK).Consistent(consistent).ConsumedCapacity(&cc).One(ctx, out)
	s.record(&cc, 0)
	if errors.Is(err, dynamo.ErrNotFound) {
		return citadel.NotFound("%s not found", what)
	}
	return wrapAWS(err, "get "+what)
}

// deleteKey deletes one item; deleting a missing item is not an error.
func (s *Store) deleteKey(ctx context.Context, k Key) error {
	var cc dynamo.ConsumedCapacity
	err := s.table.Delete(AttrPK, k.PK).Range(AttrSK, k.SK).ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, 1)
	return wrapAWS(err, "delete "+k.PK+"/"+k.SK)
}

// batchPut writes items in BatchWriteItem requests of 25, retrying
// unprocessed items with exponential backoff (guregu/dynamo does both).
func (s *Store) batchPut(ctx context.Context, items []any) error {
	if len(items) == 0 {
		return nil
	}
	wrapped := make([]any, len(items))
	var units float64
	for i, v := range items {
		av, err := marshalChecked(v)
		if err != nil {
			return err
		}
		units += writeUnits(av)
		wrapped[i] = rawItem(av)
	}
	var cc dynamo.ConsumedCapacity
	_, err := s.table.Batch(AttrPK, AttrSK).Write().Put(wrapped...).ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, units)
	return wrapAWS(err, fmt.Sprintf("batch write of %d items", len(items)))
}

// batchDelete deletes items by key in batches of 25.
func (s *Store) batchDelete(ctx context.Context, keys []Key) error {
	if len(keys) == 0 {
		return nil
	}
	keyed := make([]dynamo.Keyed, len(keys))
	for i, k := range keys {
		keyed[i] = k
	}
	var cc dynamo.ConsumedCapacity
	_, err := s.table.Batch(AttrPK, AttrSK).Write().Delete(keyed...).ConsumedCapacity(&cc).Run(ctx)
	s.record(&cc, float64(len(keys)))
	return wrapAWS(err, fmt.Sprintf("batch delete of %d items", len(keys)))
}

// batchGet reads the items of keys (duplicates read once) into out, a
// pointer to a slice, with strongly consistent BatchGetItem requests of 100
// keys (guregu/dynamo splits them and retries unprocessed keys); missing
// items are simply absent. project, when given, names the attributes read.
func (s *Store) batchGet(ctx context.Context, keys []Key, out any, what string, project ...string) error {
	if len(keys) == 0 {
		return nil
	}
	seen := make(map[Key]bool, len(keys))
	keyed := make([]dynamo.Keyed, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			keyed = append(keyed, k)
		}
	}
	get := s.table.Batch(AttrPK, AttrSK).Get(keyed...).Consistent(true)
	if len(project) > 0 {
		get = get.Project(project...)
	}
	var cc dynamo.ConsumedCapacity
	err := get.ConsumedCapacity(&cc).All(ctx, out)
	s.record(&cc, 0)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return wrapAWS(err, fmt.Sprintf("batch get of %d %s", len(keyed), what))
	}
	return nil
}

// queryAll runs a query to its end, page by page, into out (a pointer to a slice).
func (s *Store) queryAll(ctx context.Context, q *dynamo.Query, out any, what string) error {
	var cc dynamo.ConsumedCapacity
	err := q.ConsumedCapacity(&cc).All(ctx, out)
	s.record(&cc, 0)
	return wrapAWS(err, "query "+what)
}

// queryPage reads one page of at most limit items from cursor into out and
// returns the cursor of the next page ("" at the end).
func (s *Store) queryPage(ctx context.Context, q *dynamo.Query, limit int, cursor string, out any, what string) (string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	// One request of at most limit items (a shorter page when DynamoDB's
	// 1 MB cap cuts it): the next page starts at DynamoDB's own
	// LastEvaluatedKey. guregu's Limit would instead infer the key of a
	// page that ends exactly at the limit by describing the table, which
	// moto answers without the IndexArn guregu dereferences.
	q = q.SearchLimit(limit)
	if cursor != "" {
		start, err := decodeCursor(cursor, s.cursorScope(what))
		if err != nil {
			return "", err
		}
		q = q.StartFrom(start)
	}
	var cc dynamo.ConsumedCapacity
	next, err := q.ConsumedCapacity(&cc).AllWithLastEvaluatedKey(ctx, out)
	s.record(&cc, 0)
	if err != nil {
		return "", wrapAWS(err, "query "+what)
	}
	return encodeCursor(next, s.cursorScope(what))
}

// byPK and byGSI start the two kinds of query the store runs.
func (s *Store) byPK(pk string) *dynamo.Query { return s.table.Get(AttrPK, pk) }
func (s *Store) byGSI(index, pkAttr, pk string) *dynamo.Query {
	return s.table.Get(pkAttr, pk).Index(index)
}
func (s *Store) byGSI1(pk string) *dynamo.Query { return s.byGSI(GSI1, AttrGSI1PK, pk) }
func (s *Store) byGSI2(pk string) *dynamo.Query { return s.byGSI(GSI2, AttrGSI2PK, pk) }

// rawItem is an already marshalled (and size-checked) item.
type rawItem map[string]types.AttributeValue

func (r rawItem) MarshalDynamoItem() (map[string]types.AttributeValue, error) { return r, nil }
