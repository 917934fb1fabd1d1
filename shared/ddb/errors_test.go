package ddb_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// cancelled builds a TransactionCanceledException as the SDK returns it
// (inside its OperationError), with one reason code per item.
func cancelled(codes ...string) error {
	reasons := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		reasons[i] = types.CancellationReason{Code: aws.String(c)}
	}
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems", Err: &types.TransactionCanceledException{
		Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"),
		CancellationReasons: reasons,
	}}
}

func TestWrapAWSMapsCancelledTransactions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		conflict  bool
		retryable bool
		want      string
	}{
		{"a concurrent transaction", cancelled("None", "TransactionConflict"), true, false, "concurrent request"},
		{"a failed condition", cancelled("ConditionalCheckFailed", "None"), true, false, "condition of the transaction failed"},
		{"a failed condition beside a conflict", cancelled("ConditionalCheckFailed", "TransactionConflict"), true, false, "condition"},
		{"throttled", cancelled("None", "ThrottlingError"), false, true, "start scan"},
		{"throttled on capacity", cancelled("ProvisionedThroughputExceeded"), false, true, "start scan"},
		{"another reason", cancelled("ValidationError"), false, false, "start scan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ddb.WrapAWS(tc.err, "start scan s1")
			if citadel.IsConflict(err) != tc.conflict || citadel.IsRetryable(err) != tc.retryable {
				t.Fatalf("%v: conflict %v retryable %v, want %v %v", err, citadel.IsConflict(err), citadel.IsRetryable(err), tc.conflict, tc.retryable)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not say %q", err, tc.want)
			}
			if tc.conflict && strings.Contains(err.Error(), "please refer") {
				t.Errorf("a conflict's message carries the SDK's text: %q", err)
			}
		})
	}
}

// injectConflicts makes the first `times` TransactWriteItems attempts fail
// with a TransactionConflict before they reach the server. moto runs
// transactions one at a time and never answers TransactionConflict, so the
// answer real DynamoDB gives to two concurrent transactions on the same
// items is stood in for here, in the deserialize step, where the client's
// retryer sees it as it would see the service's.
func injectConflicts(times int32, calls *atomic.Int32) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("conflict",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					if middleware.GetOperationName(ctx) != "TransactWriteItems" {
						return next.HandleDeserialize(ctx, in)
					}
					if calls.Add(1) > times {
						return next.HandleDeserialize(ctx, in)
					}
					var tce *types.TransactionCanceledException
					errors.As(cancelled("None", "TransactionConflict"), &tce)
					return middleware.DeserializeOutput{}, middleware.Metadata{}, tce
				}), middleware.After)
		})
	}
}

func TestTransactionConflictsAreRetriedThenAConflict(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	for _, tc := range []struct {
		name      string
		conflicts int32
		wantErr   bool
		wantCalls int32
	}{
		{"two conflicts, then through", 2, false, 3},
		{"conflicts on every attempt", 1000, true, 0}, // 0: the retryer's attempt limit
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			client := dynamodb.NewFromConfig(cfg, ddb.RetryTransactionConflicts, injectConflicts(tc.conflicts, &calls))
			s := ddb.NewFromClient(client, table)
			if tc.wantCalls == 0 {
				tc.wantCalls = int32(client.Options().Retryer.MaxAttempts())
			}
			pk := "T#tx-" + strings.ReplaceAll(tc.name, " ", "-")
			err := s.CreateBoth(ctx, ddb.NewTestItem(pk, "lock", 1, ""), ddb.NewTestItem(pk, "scan", 2, ""))
			var stored []ddb.TestItem
			if qerr := s.QueryAllPK(ctx, pk, &stored); qerr != nil {
				t.Fatal(qerr)
			}
			switch {
			case tc.wantErr && !citadel.IsConflict(err):
				t.Fatalf("got %v, want a conflict", err)
			case tc.wantErr && len(stored) != 0:
				t.Errorf("a refused transaction stored %d items", len(stored))
			case !tc.wantErr && (err != nil || len(stored) != 2):
				t.Fatalf("got %v with %d items stored, want both stored", err, len(stored))
			}
			if n := calls.Load(); n != tc.wantCalls {
				t.Errorf("TransactWriteItems attempts = %d, want %d", n, tc.wantCalls)
			}
		})
	}
	// Without the option a conflict is not retried: one attempt, a 409.
	var calls atomic.Int32
	s := ddb.NewFromClient(dynamodb.NewFromConfig(cfg, injectConflicts(1, &calls)), table)
	if err := s.CreateBoth(ctx, ddb.NewTestItem("T#tx-plain", "a", 1, ""), ddb.NewTestItem("T#tx-plain", "b", 1, "")); !citadel.IsConflict(err) || calls.Load() != 1 {
		t.Errorf("without RetryTransactionConflicts: %v after %d attempts, want a conflict after 1", err, calls.Load())
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestCursorsAreOnlyAcceptedByTheirList(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	s := ddb.NewFromClient(client, table)
	var items []any
	for _, pk := range []string{"T#a", "T#b"} {
		for i := range 30 {
			items = append(items, ddb.NewTestItem(pk, fmt.Sprintf("%03d", i), i, ""))
		}
	}
	if err := s.BatchPut(ctx, items); err != nil {
		t.Fatal(err)
	}
	var page []ddb.TestItem
	curA, err := s.QueryPagePK(ctx, "T#a", 10, "", &page)
	if err != nil || curA == "" {
		t.Fatalf("first page: %q, %v", curA, err)
	}
	curB, err := s.QueryPagePK(ctx, "T#b", 10, "", &page)
	if err != nil {
		t.Fatal(err)
	}
	// The same list on a table of another name does not take the cursor either.
	_, other := testenv.Table(t, cfg)
	otherStore := ddb.NewFromClient(client, other)
	raw, _ := base64.RawURLEncoding.DecodeString(curA)
	tampered := b64(strings.Replace(string(raw), `"SK":"009"`, `"SK":"019"`, 1))
	if tampered == curA {
		t.Fatalf("the tampered cursor is the cursor: %s", raw)
	}
	for _, tc := range []struct {
		name   string
		store  *ddb.Store
		cursor string
		ok     bool
	}{
		{"its own list's cursor", s, curA, true},
		{"a forged cursor (base64 of {\"a\":\"b\"})", s, b64(`{"a":"b"}`), false},
		{"a bare key without a tag", s, b64(`{"PK":"T#a","SK":"009"}`), false},
		{"a key with a made-up tag", s, b64(`{"k":{"PK":"T#a","SK":"009"},"t":"AAAAAAAAAAAAAAAA"}`), false},
		{"its key changed", s, tampered, false},
		{"another partition's cursor", s, curB, false},
		{"the cursor on another table", otherStore, curA, false},
		{"not base64", s, "%%%", false},
		{"base64 of no JSON", s, b64("nope"), false},
		{"JSON that is no object", s, b64(`[1,2]`), false},
		{"two JSON values", s, curA + b64(`{}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []ddb.TestItem
			pk := "T#a"
			next, err := tc.store.QueryPagePK(ctx, pk, 10, tc.cursor, &got)
			if tc.ok {
				if err != nil || len(got) != 10 || got[0].N != 10 || next == "" {
					t.Fatalf("own cursor: %d items from %v, next %q, %v", len(got), got, next, err)
				}
				return
			}
			if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), ddb.BadCursor) {
				t.Fatalf("got %v (%d items), want invalid: %s", err, len(got), ddb.BadCursor)
			}
		})
	}
}

func TestCursorKeysAreKeyAttributes(t *testing.T) {
	for _, tc := range []struct {
		key  map[string]string
		want bool
	}{
		{map[string]string{"PK": "a", "SK": "b"}, true},
		{map[string]string{"PK": "a", "SK": "b", "GSI1PK": "c", "GSI1SK": "d"}, true},
		{map[string]string{"PK": "a", "SK": "b", "GSI2PK": "c", "GSI2SK": "d"}, true},
		{map[string]string{"PK": "a"}, false},
		{map[string]string{"PK": "a", "SK": ""}, false},
		{map[string]string{"PK": "a", "SK": "b", "GSI1PK": "c"}, false},
		{map[string]string{"PK": "a", "SK": "b", "GSI1PK": "c", "GSI2SK": "d"}, false},
		{map[string]string{"PK": "a", "SK": "b", "Body": "x"}, false},
		{map[string]string{"a": "b"}, false},
		{map[string]string{}, false},
	} {
		if got := ddb.KeyAttributes(tc.key); got != tc.want {
			t.Errorf("KeyAttributes(%v) = %v, want %v", tc.key, got, tc.want)
		}
	}
	// A cursor whose tag is right but whose key is no key is refused too.
	av := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "a"}, "Body": &types.AttributeValueMemberS{Value: "x"}}
	c, err := ddb.EncodeCursor(av, "scope")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ddb.DecodeCursor(c, "scope"); !citadel.IsInvalid(err) {
		t.Errorf("a cursor of no key attributes: %v, want invalid", err)
	}
}
