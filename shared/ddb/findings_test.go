package ddb_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// findingsFixture stores current results of two integrations: 5 checks of
// three services on 12 assets, statuses, severities and regions mixed, and
// some failing results excepted.
func findingsFixture(t *testing.T) (*ddb.Store, []citadel.CheckResult) {
	t.Helper()
	store := testenv.Store(t)
	checks := []string{"ec2_instance_public", "iam_root_mfa", "s3_a", "s3_b", "s3_bucket_versioning"}
	var ws []ddb.ResultWrite
	var all []citadel.CheckResult
	for _, integ := range []string{"integ-1", "integ-2"} {
		for c, check := range checks {
			for n := range 12 {
				r := testResult(integ, check, n, []citadel.CheckStatus{citadel.StatusPass, citadel.StatusFail, citadel.StatusError}[(n+c)%3], "scan-1")
				r.Severity = []citadel.Severity{citadel.SeverityHigh, citadel.SeverityLow}[(n/2)%2]
				r.Region = []string{"us-east-1", "eu-west-1", "us-east-1", "ap-south-1"}[n%4]
				if r.Status == citadel.StatusFail && (n/4)%2 == 0 {
					r.ExceptionID = "exc-" + check
				}
				ws = append(ws, ddb.ResultWrite{Result: r})
				if integ == "integ-1" {
					r.RawOutput, r.ResourceSnapshot = nil, nil // the lists read heads
					all = append(all, r)
				}
			}
		}
	}
	if err := store.PutResults(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].CheckID+"#"+all[i].AssetID < all[j].CheckID+"#"+all[j].AssetID
	})
	return store, all
}

// walk reads every page of a filtered list, checking each page's bound.
func walk(t *testing.T, store *ddb.Store, integ string, f ddb.ResultFilter, limit int) (got []citadel.CheckResult, pages int) {
	t.Helper()
	for items, err := range citadel.Pages(func(cursor string) (citadel.Page[citadel.CheckResult], error) {
		return store.ListResultsFiltered(context.Background(), integ, f, limit, cursor)
	}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > limit {
			t.Fatalf("a page of %d results, over the limit %d", len(items), limit)
		}
		got = append(got, items...)
		pages++
	}
	return got, pages
}

func TestListResultsFilteredPaginates(t *testing.T) {
	store, all := findingsFixture(t)
	where := func(keep func(citadel.CheckResult) bool) []citadel.CheckResult {
		return slices.DeleteFunc(slices.Clone(all), func(r citadel.CheckResult) bool { return !keep(r) })
	}
	for _, tc := range []struct {
		name   string
		filter ddb.ResultFilter
		want   []citadel.CheckResult
	}{
		{"everything", ddb.ResultFilter{}, all},
		{"one check", ddb.ResultFilter{CheckID: "s3_a"}, where(func(r citadel.CheckResult) bool { return r.CheckID == "s3_a" })},
		{"a check no result has", ddb.ResultFilter{CheckID: "s3_nope"}, nil},
		{"a service", ddb.ResultFilter{Service: "s3"}, where(func(r citadel.CheckResult) bool { return strings.HasPrefix(r.CheckID, "s3_") })},
		{"a service that is another's prefix", ddb.ResultFilter{Service: "s"}, nil},
		{"a requirement's checks", ddb.ResultFilter{CheckIDs: []string{"s3_b", "ec2_instance_public", "s3_b", "zz_none"}},
			where(func(r citadel.CheckResult) bool { return r.CheckID == "s3_b" || r.CheckID == "ec2_instance_public" })},
		{"a requirement's checks of a service", ddb.ResultFilter{CheckIDs: []string{"s3_b", "ec2_instance_public"}, Service: "ec2"},
			where(func(r citadel.CheckResult) bool { return r.CheckID == "ec2_instance_public" })},
		{"a requirement's checks and a check not among them", ddb.ResultFilter{CheckIDs: []string{"s3_b"}, CheckID: "s3_a"}, nil},
		// Status is the effective one: failing is what no exception covers.
		{"failing", ddb.ResultFilter{Status: citadel.StatusFail}, where(func(r citadel.CheckResult) bool { return r.Status == citadel.StatusFail && r.ExceptionID == "" })},
		{"excepted", ddb.ResultFilter{Status: citadel.StatusExcepted}, where(func(r citadel.CheckResult) bool { return r.ExceptionID != "" })},
		{"failing, high, us-east-1, of a service", ddb.ResultFilter{Service: "s3", Status: citadel.StatusFail, Severity: citadel.SeverityHigh, Region: "us-east-1"},
			where(func(r citadel.CheckResult) bool {
				return strings.HasPrefix(r.CheckID, "s3_") && r.Effective() == citadel.StatusFail && r.Severity == citadel.SeverityHigh && r.Region == "us-east-1"
			})},
		{"excepted of a check", ddb.ResultFilter{CheckID: "s3_b", Status: citadel.StatusExcepted},
			where(func(r citadel.CheckResult) bool {
				return r.CheckID == "s3_b" && r.Effective() == citadel.StatusExcepted
			})},
		{"a region no result is in", ddb.ResultFilter{Region: "sa-east-1"}, nil},
		{"errors of a requirement's checks in a region", ddb.ResultFilter{CheckIDs: []string{"iam_root_mfa", "s3_bucket_versioning"}, Status: citadel.StatusError, Region: "ap-south-1"},
			where(func(r citadel.CheckResult) bool {
				return (r.CheckID == "iam_root_mfa" || r.CheckID == "s3_bucket_versioning") && r.Status == citadel.StatusError && r.Region == "ap-south-1"
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 7, 100} {
				got, pages := walk(t, store, "integ-1", tc.filter, limit)
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("limit %d, %d pages (-want +got):\n%s", limit, pages, d)
				}
			}
		})
	}
}

func TestListResultsFilteredCursors(t *testing.T) {
	ctx := context.Background()
	store, _ := findingsFixture(t)
	failing := ddb.ResultFilter{Service: "s3", Status: citadel.StatusFail}
	first, err := store.ListResultsFiltered(ctx, "integ-1", failing, 2, "")
	if err != nil || first.Next == "" {
		t.Fatalf("first page: %v, next %q", err, first.Next)
	}
	for name, call := range map[string]func() error{
		"another filter": func() error {
			_, err := store.ListResultsFiltered(ctx, "integ-1", ddb.ResultFilter{Service: "s3"}, 2, first.Next)
			return err
		},
		"another integration": func() error {
			_, err := store.ListResultsFiltered(ctx, "integ-2", failing, 2, first.Next)
			return err
		},
		"the unfiltered list's": func() error {
			_, err := store.ListResults(ctx, "integ-1", 2, first.Next)
			return err
		},
		"forged": func() error {
			_, err := store.ListResultsFiltered(ctx, "integ-1", failing, 2, "eyJhIjoiYiJ9")
			return err
		},
	} {
		if err := call(); !citadel.IsInvalid(err) || !strings.Contains(err.Error(), ddb.BadCursor) {
			t.Errorf("%s: %v, want %q", name, err, ddb.BadCursor)
		}
	}
	// A sparse filter with a small page reads a bounded amount per page: it
	// may answer short or empty pages, and the walk still finds them all.
	got, pages := walk(t, store, "integ-1", ddb.ResultFilter{Status: citadel.StatusError, Region: "ap-south-1", Severity: citadel.SeverityLow}, 1)
	if len(got) == 0 || pages < len(got) {
		t.Errorf("sparse walk: %d results in %d pages", len(got), pages)
	}
}

func TestResultsOfAsset(t *testing.T) {
	ctx := context.Background()
	store, all := findingsFixture(t)
	asset := all[0].AssetID // bucket-0 of integ-1
	if got, err := store.ResultsOfAsset(ctx, "integ-1", asset); err != nil || len(got) != 0 {
		t.Fatalf("before any digest: %v, %v; want none", got, err)
	}
	// The latest scan ran every check but iam_root_mfa.
	checks := []string{"ec2_instance_public", "s3_a", "s3_b", "s3_bucket_versioning"}
	var entries []digest.Entry
	for c := range checks {
		var e digest.Entry
		e.Check = uint16(c)
		e.Asset, _ = digest.ParseAsset(asset)
		entries = append(entries, e)
	}
	if err := store.PutScanDigest(ctx, ddb.ScanDigest{IntegrationID: "integ-1", ScanID: "scan-1", Checks: checks, CreatedAt: rt0}, entries); err != nil {
		t.Fatal(err)
	}
	got, err := store.ResultsOfAsset(ctx, "integ-1", asset)
	if err != nil {
		t.Fatal(err)
	}
	var want []citadel.CheckResult
	for _, r := range all {
		if r.AssetID == asset && r.CheckID != "iam_root_mfa" {
			want = append(want, r)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results of the asset (-want +got):\n%s", d)
	}
	if got, err := store.ResultsOfAsset(ctx, "integ-1", strings.Repeat("0", 20)); err != nil || len(got) != 0 {
		t.Errorf("an asset without results: %v, %v", got, err)
	}
}
