package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

const (
	fixtureProwler = "../../shared/catalog/testdata/prowler"
	fixtureSCF     = "../../shared/catalog/testdata/scf"
)

func TestCatalogImportAndLinksCommands(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	t.Setenv("CITADEL_TABLE", table)

	var out bytes.Buffer
	if err := catalogImport(ctx, []string{"-prowler", fixtureProwler, "-scf", fixtureSCF}, &out); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		ProwlerVersion string `json:"prowler_version"`
		SCFImported    bool   `json:"scf_imported"`
		Checks         int    `json:"checks"`
		JoinReports    []struct {
			FrameworkID      string   `json:"framework_id"`
			ProwlerUnmatched []string `json:"prowler_unmatched"`
		} `json:"join_reports"`
		LinkStats struct {
			ChecksLinked int `json:"checks_linked"`
		} `json:"link_stats"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if rep.ProwlerVersion != "9.9.9" || !rep.SCFImported || rep.Checks != 3 || len(rep.JoinReports) != 3 || rep.LinkStats.ChecksLinked != 2 {
		t.Errorf("import report: %s", out.String())
	}

	// ec2_old_check's text says nothing, so it keeps no link.
	want := map[string][]string{
		"iam_root_mfa_enabled":         {"IAC-06.1", "IAC-06"},
		"s3_bucket_default_encryption": {"CRY-05"},
	}
	for _, args := range [][]string{
		nil, // from the table
		{"-prowler", fixtureProwler, "-scf", fixtureSCF}, // from the files
	} {
		out.Reset()
		if err := catalogLinks(ctx, args, &out); err != nil {
			t.Fatal(err)
		}
		var got map[string][]string
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("links %v (-want +got):\n%s", args, d)
		}
	}
	if err := catalogLinks(ctx, []string{"-prowler", fixtureProwler, "-scf", "/nonexistent"}, &out); err == nil {
		t.Error("links from a missing folder: no error")
	}
	if err := catalogImport(ctx, []string{"-prowler", "/nonexistent"}, &out); err == nil {
		t.Error("import from a missing folder: no error")
	}
}
