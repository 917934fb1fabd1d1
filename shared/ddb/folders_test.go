package ddb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// Folders: created once (another folder under the id is a conflict naming
// it), read back, renamed (a missing one is not found), refused when
// invalid.
func TestFolderRoundTripRenameAndConflicts(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	f := citadel.Folder{ID: "fld-1", Name: "Payments", CreatedAt: t0}
	if err := s.CreateFolder(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetFolder(ctx, "fld-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(f, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	other := f
	other.Name = "Billing"
	if err := s.CreateFolder(ctx, other); !citadel.IsConflict(err) || err.Error() != "folder fld-1 already exists" {
		t.Errorf("second create under the id: %v, want a conflict naming it", err)
	}
	renamed := f
	renamed.Name, renamed.UpdatedAt = "Payments EU", t0.Add(1)
	if err := s.UpdateFolder(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetFolder(ctx, "fld-1"); err != nil || !cmp.Equal(renamed, got) {
		t.Errorf("after rename: %+v (%v), want %+v", got, err, renamed)
	}
	if err := s.UpdateFolder(ctx, citadel.Folder{ID: "fld-404", Name: "x", CreatedAt: t0}); !citadel.IsNotFound(err) {
		t.Errorf("rename of a missing folder: %v, want not found", err)
	}
	if _, err := s.GetFolder(ctx, "fld-404"); !citadel.IsNotFound(err) {
		t.Errorf("missing folder: %v, want not found", err)
	}
	for name, bad := range map[string]citadel.Folder{
		"no id":         {Name: "x", CreatedAt: t0},
		"bad id":        {ID: "a/b", Name: "x", CreatedAt: t0},
		"no name":       {ID: "fld-2", CreatedAt: t0},
		"blank name":    {ID: "fld-2", Name: " \t", CreatedAt: t0},
		"name too long": {ID: "fld-2", Name: strings.Repeat("é", citadel.MaxFolderName+1), CreatedAt: t0},
	} {
		if err := s.CreateFolder(ctx, bad); !citadel.IsInvalid(err) {
			t.Errorf("%s: create %v, want invalid", name, err)
		}
		if err := s.UpdateFolder(ctx, bad); !citadel.IsInvalid(err) {
			t.Errorf("%s: update %v, want invalid", name, err)
		}
	}
	longest := citadel.Folder{ID: "fld-3", Name: strings.Repeat("é", citadel.MaxFolderName), CreatedAt: t0}
	if err := s.CreateFolder(ctx, longest); err != nil {
		t.Errorf("a name of %d characters: %v", citadel.MaxFolderName, err)
	}
}

// ListFolders pages every folder by id; its cursor is good for it alone.
func TestListFoldersPaginates(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	var want []citadel.Folder
	for _, i := range []int{3, 1, 4, 0, 2} {
		f := citadel.Folder{ID: fmt.Sprintf("fld-%d", i), Name: fmt.Sprintf("team %d", i), CreatedAt: t0}
		if err := s.CreateFolder(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		want = append(want, citadel.Folder{ID: fmt.Sprintf("fld-%d", i), Name: fmt.Sprintf("team %d", i), CreatedAt: t0})
	}
	// An integration in a folder is no folder.
	if err := s.CreateIntegration(ctx, integration("int-1")); err != nil {
		t.Fatal(err)
	}
	// Not a first page of exactly the folders' count: moto answers it
	// without a LastEvaluatedKey and no IndexArn in DescribeTable, which
	// guregu/dynamo then dereferences (real DynamoDB returns the key).
	for _, limit := range []int{1, 2, 3, 100} {
		var got []citadel.Folder
		cursor, pages := "", 0
		for {
			page, err := s.ListFolders(ctx, limit, cursor)
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			got = append(got, page.Items...)
			pages++
			if cursor = page.Next; cursor == "" || pages > 10 {
				break
			}
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("limit %d (-want +got):\n%s", limit, d)
		}
	}
	first, err := s.ListFolders(ctx, 2, "")
	if err != nil || first.Next == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	if _, err := s.ListIntegrations(ctx, "f1", 2, first.Next); !citadel.IsInvalid(err) || !strings.Contains(err.Error(), ddb.BadCursor) {
		t.Errorf("the folders' cursor on another list: %v, want %q", err, ddb.BadCursor)
	}
	empty := testenv.Store(t)
	if page, err := empty.ListFolders(ctx, 10, ""); err != nil || len(page.Items) != 0 || page.Next != "" {
		t.Errorf("no folders: %+v, %v", page, err)
	}
}
