package ddb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestExports(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	s := testenv.StoreOn(t, cfg, table)
	newExport := func(n int) citadel.Export {
		at := t0.Add(time.Duration(n) * time.Minute)
		return citadel.Export{ID: fmt.Sprintf("exp-%d", n), Status: citadel.ExportQueued, RequestedBy: "auditor", CreatedAt: at,
			Request: citadel.ExportRequest{Framework: "soc2", Scope: citadel.ExportScope{Kind: citadel.ExportScopeFolder, ID: "f1"}, Format: citadel.ExportCSV},
			Expires: at.Add(citadel.ExportRetention)}
	}
	for n := range 5 {
		if err := s.CreateExport(ctx, newExport(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateExport(ctx, func() citadel.Export { e := newExport(1); e.RequestedBy = "other"; return e }()); citadel.CodeOf(err) != citadel.CodeConflict {
		t.Errorf("a second export 1: %v", err)
	}

	// Queued → running → succeeded, each move conditional on the status read.
	e := newExport(2)
	e.Status, e.StartedAt = citadel.ExportRunning, t0.Add(time.Hour)
	if err := s.UpdateExport(ctx, citadel.ExportQueued, e); err != nil {
		t.Fatal(err)
	}
	// The same move again is the SDK's retry of it: done already. Another
	// move from the status no longer stored is a conflict.
	if err := s.UpdateExport(ctx, citadel.ExportQueued, e); err != nil {
		t.Errorf("the move again: %v", err)
	}
	stale := e
	stale.StartedAt = t0.Add(2 * time.Hour)
	if err := s.UpdateExport(ctx, citadel.ExportQueued, stale); citadel.CodeOf(err) != citadel.CodeConflict {
		t.Errorf("a stale move: %v", err)
	}
	done := e
	done.Status, done.Key, done.Size, done.SHA256 = citadel.ExportSucceeded, citadel.ExportKey(e.ID, "soc2.zip"), 1234, "abc"
	if err := s.UpdateExport(ctx, citadel.ExportRunning, done); err != nil {
		t.Fatal(err)
	}
	failed := e
	failed.Status = citadel.ExportFailed
	if err := s.UpdateExport(ctx, citadel.ExportRunning, failed); citadel.CodeOf(err) != citadel.CodeConflict {
		t.Errorf("failing a succeeded export: %v", err)
	}
	got, err := s.GetExport(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(done, got); d != "" {
		t.Errorf("stored (-want +got):\n%s", d)
	}
	if _, err := s.GetExport(ctx, "exp-none"); !citadel.IsNotFound(err) {
		t.Errorf("a missing export: %v", err)
	}

	// Newest first, two a page.
	var order []string
	for x, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Export], error) { return s.ListExports(ctx, 2, cursor) }) {
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, x.ID)
	}
	if d := cmp.Diff([]string{"exp-4", "exp-3", "exp-2", "exp-1", "exp-0"}, order); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}

	// The item expires with the export (TTL, epoch seconds).
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		ddb.AttrPK: &types.AttributeValueMemberS{Value: "EXPORT#exp-2"}, ddb.AttrSK: &types.AttributeValueMemberS{Value: "EXPORT"}}})
	if err != nil {
		t.Fatal(err)
	}
	ttl, _ := out.Item[ddb.AttrTTL].(*types.AttributeValueMemberN)
	if ttl == nil || ttl.Value != fmt.Sprint(done.Expires.Unix()) {
		t.Errorf("TTL %v, want %d", out.Item[ddb.AttrTTL], done.Expires.Unix())
	}
}
