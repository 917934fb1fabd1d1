package export_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/citadelsecure/citadel/shared/testkit/exporttest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// row is what the tests compare of a finding.
type row struct {
	Check, Asset          string
	Status, Prowler       citadel.CheckStatus
	Exception, ScanID     string
	FailingSince          time.Time
	Controls, Requirement []string
}

func rows(ds export.Dataset) []row {
	var out []row
	for _, f := range ds.Findings {
		out = append(out, row{f.CheckID, f.AssetName, f.Status, f.ProwlerStatus, f.ExceptionID, f.ScanID, f.FirstSeen, f.Controls, f.Requirements})
	}
	return out
}

func requirement(t *testing.T, ds export.Dataset, ref string) export.Requirement {
	t.Helper()
	for _, r := range ds.Requirements {
		if r.RefID == ref {
			return r
		}
	}
	t.Fatalf("no requirement %s in %+v", ref, ds.Requirements)
	return export.Requirement{}
}

func TestCollect(t *testing.T) {
	e := exporttest.New(t)
	ctx := context.Background()
	req := export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeIntegration, ID: exporttest.Integration}}

	now, err := export.Collect(ctx, e.Store, req, e.Clock)
	if err != nil {
		t.Fatal(err)
	}
	then, err := export.Collect(ctx, e.Store, export.Request{Framework: req.Framework, Scope: req.Scope, AsOf: exporttest.T1.Add(3 * time.Hour)}, e.Clock)
	if err != nil {
		t.Fatal(err)
	}
	before, err := export.Collect(ctx, e.Store, export.Request{Framework: req.Framework, Scope: req.Scope, AsOf: exporttest.T1.Add(-time.Hour)}, e.Clock)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ds   export.Dataset
		want []row
		// posture of CC6.1 (its requirement result) and its counts
		result                   citadel.AssessmentResult
		passed, failed, excepted int
		scan                     string
	}{
		{"now", now, []row{
			{Check: exporttest.RootMFA, Asset: "root", Status: citadel.StatusPass, Prowler: citadel.StatusPass, ScanID: "s2"},
			{Check: exporttest.Encryption, Asset: "b1", Status: citadel.StatusFail, Prowler: citadel.StatusFail, ScanID: "s2", FailingSince: exporttest.T2},
			{Check: exporttest.Encryption, Asset: "b2", Status: citadel.StatusExcepted, Prowler: citadel.StatusFail, Exception: "exc-b2", ScanID: "s2"},
		}, citadel.ResultPartiallyCompliant, 1, 1, 1, "s2"},
		{"as of between the scans", then, []row{
			{Check: exporttest.RootMFA, Asset: "root", Status: citadel.StatusFail, Prowler: citadel.StatusFail, ScanID: "s1", FailingSince: exporttest.T1},
			{Check: exporttest.Encryption, Asset: "b1", Status: citadel.StatusPass, Prowler: citadel.StatusPass, ScanID: "s1"},
			{Check: exporttest.Encryption, Asset: "b2", Status: citadel.StatusFail, Prowler: citadel.StatusFail, ScanID: "s1", FailingSince: exporttest.T1},
		}, citadel.ResultPartiallyCompliant, 1, 2, 0, "s1"},
		{"as of before any scan", before, nil, citadel.ResultNotAssessed, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rows(tt.ds)
			for i := range got {
				got[i].Controls, got[i].Requirement = nil, nil
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			r := requirement(t, tt.ds, "cc_6_1")
			if d := cmp.Diff([]any{tt.result, tt.passed, tt.failed, tt.excepted}, []any{r.Result, r.Passed, r.Failed, r.Excepted}); d != "" {
				t.Errorf("CC6.1 (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.scan, tt.ds.Integrations[0].ScanID); d != "" {
				t.Errorf("scan (-want +got):\n%s", d)
			}
			for _, rec := range tt.ds.Evidence {
				if b := citadel.VerifyChain(rec.Revisions); b != nil {
					t.Errorf("%s: revisions: %+v", rec.Evidence.ID, b)
				}
				if b := citadel.VerifyReviews(rec.Evidence.ID, rec.Reviews, rec.Revisions); b != nil {
					t.Errorf("%s: reviews: %+v", rec.Evidence.ID, b)
				}
				if n := len(rec.Revisions); n != rec.Evidence.RevisionCount || rec.Revisions[n-1].Hash != rec.Evidence.LatestHash {
					t.Errorf("%s: the record's head (%d %s) is not its chain's", rec.Evidence.ID, rec.Evidence.RevisionCount, rec.Evidence.LatestHash)
				}
			}
		})
	}
	// The findings name the framework's requirements through their controls.
	for _, f := range now.Findings {
		if !slices.Contains(f.Requirements, "cc_6_1") || len(f.Controls) == 0 {
			t.Errorf("%s on %s: controls %v requirements %v", f.CheckID, f.AssetName, f.Controls, f.Requirements)
		}
	}
	// The exception that applies is in the dataset; b1's evidence was
	// reviewed after s1 and reopened by s2's regression.
	if len(now.Exceptions) != 1 || now.Exceptions[0].ID != "exc-b2" || now.Exceptions[0].Owner == "" {
		t.Errorf("exceptions: %+v", now.Exceptions)
	}
	b1 := citadel.EvidenceID(exporttest.Integration, exporttest.Encryption, e.Asset("b1"))
	for _, c := range []struct {
		ds        export.Dataset
		revisions int
		reviews   int
		status    citadel.EvidenceStatus
	}{{now, 2, 1, citadel.EvidenceInReview}, {then, 1, 1, citadel.EvidenceApproved}} {
		rec := evidenceOf(t, c.ds, b1)
		if d := cmp.Diff([]any{c.revisions, c.reviews, c.status}, []any{len(rec.Revisions), len(rec.Reviews), rec.Evidence.Status}); d != "" {
			t.Errorf("b1's evidence as of %s (-want +got):\n%s", c.ds.AsOf, d)
		}
	}
}

func evidenceOf(t *testing.T, ds export.Dataset, id string) export.EvidenceRecord {
	t.Helper()
	for _, rec := range ds.Evidence {
		if rec.Evidence.ID == id {
			return rec
		}
	}
	t.Fatalf("no evidence %s", id)
	return export.EvidenceRecord{}
}

// TestCollectRefuses: each kind of bad request is a clear client error
// naming what is wrong, and nothing is read.
func TestCollectRefuses(t *testing.T) {
	store := testenv.Store(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	if err := store.CreateIntegration(ctx, citadel.Integration{ID: "int-a", FolderID: exporttest.Folder, Name: "a", AccountID: "111122223333", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  export.Request
		code citadel.ErrorCode
		want string
	}{
		{"no framework", export.Request{Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-a"}}, citadel.CodeInvalid, "framework is required"},
		{"bad scope kind", export.Request{Framework: "soc2", Scope: export.Scope{Kind: "account", ID: "int-a"}}, citadel.CodeInvalid, `scope kind "account"`},
		{"no scope id", export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeFolder}}, citadel.CodeInvalid, "scope id is required"},
		{"in the future", export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-a"}, AsOf: now.Add(time.Hour)},
			citadel.CodeInvalid, "is in the future"},
		{"unknown framework", export.Request{Framework: "nope", Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-a"}}, citadel.CodeNotFound, "framework nope"},
		{"unknown integration", export.Request{Framework: "nope", Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-zz"}}, citadel.CodeNotFound, ""},
		{"not an organization", export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeOrganization, ID: "int-a"}}, citadel.CodeInvalid, "is not an organization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := export.Collect(ctx, store, tt.req, now)
			if err == nil {
				t.Fatal("collected")
			}
			if tt.code != "" && citadel.CodeOf(err) != tt.code {
				t.Errorf("code %q, want %q: %v", citadel.CodeOf(err), tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v does not say %q", err, tt.want)
			}
		})
	}
}
