package ddb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestLinkCorrections(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if err := s.PutChecks(ctx, []citadel.SecurityCheck{catalogCheck("s3_public"), catalogCheck("kms_rotation")}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSCFControls(ctx, []citadel.SCFControl{{ID: "CRY-05"}, {ID: "NET-03"}, {ID: "CRY-09"}}); err != nil {
		t.Fatal(err)
	}
	imported := []citadel.CheckSCFLink{
		{CheckID: "s3_public", SCFID: "CRY-05", Rank: 1, Score: 2, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_1"}},
		{CheckID: "s3_public", SCFID: "NET-03", Rank: 2, Score: 1, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_6"}},
	}
	if err := s.PutCheckSCFLinks(ctx, imported); err != nil {
		t.Fatal(err)
	}
	fix := func(check, scf string, a citadel.LinkAction) citadel.LinkCorrection {
		return citadel.LinkCorrection{CheckID: check, SCFID: scf, Action: a, Reason: "public access is not encryption", By: "alice", At: t0}
	}

	// Bad input: each kind refused, nothing written.
	for _, tt := range []struct {
		name string
		c    citadel.LinkCorrection
		want citadel.ErrorCode
	}{
		{"unknown check", fix("nope", "CRY-05", citadel.LinkRemove), citadel.CodeNotFound},
		{"unknown SCF control", fix("s3_public", "XYZ-99", citadel.LinkAdd), citadel.CodeNotFound},
		{"no reason", func() citadel.LinkCorrection {
			c := fix("s3_public", "CRY-05", citadel.LinkRemove)
			c.Reason = ""
			return c
		}(), citadel.CodeInvalid},
		{"bad action", fix("s3_public", "CRY-05", "drop"), citadel.CodeInvalid},
	} {
		if err := s.PutLinkCorrection(ctx, tt.c); citadel.CodeOf(err) != tt.want {
			t.Errorf("%s: PutLinkCorrection = %v, want code %s", tt.name, err, tt.want)
		}
	}
	if all, err := s.ListLinkCorrections(ctx); err != nil || len(all) != 0 {
		t.Fatalf("after refused corrections: %v, %v; want none", all, err)
	}

	// An add, then a remove that a later add replaces.
	for _, c := range []citadel.LinkCorrection{fix("s3_public", "CRY-05", citadel.LinkRemove), fix("kms_rotation", "CRY-09", citadel.LinkRemove), fix("kms_rotation", "CRY-09", citadel.LinkAdd)} {
		if err := s.PutLinkCorrection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListLinkCorrections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []citadel.LinkCorrection{fix("kms_rotation", "CRY-09", citadel.LinkAdd), fix("s3_public", "CRY-05", citadel.LinkRemove)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListLinkCorrections (-want +got):\n%s", d)
	}
	of, err := s.LinkCorrectionsOfCheck(ctx, "s3_public")
	if d := cmp.Diff(want[1:], of); err != nil || d != "" {
		t.Errorf("LinkCorrectionsOfCheck: %v (-want +got):\n%s", err, d)
	}

	// The imported links are untouched, and the effective ones corrected.
	if links, err := s.ListCheckSCFLinks(ctx); err != nil || len(links) != 2 {
		t.Errorf("ListCheckSCFLinks = %v, %v; want the 2 imported", links, err)
	}
	eff, err := s.ListEffectiveSCFLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type short struct {
		Check, SCF string
		Rank       int
		Origin     citadel.LinkOrigin
	}
	shorten := func(es []citadel.EffectiveLink) []short {
		var out []short
		for _, e := range es {
			out = append(out, short{e.CheckID, e.SCFID, e.Rank, e.Origin})
		}
		return out
	}
	wantEff := []short{{"kms_rotation", "CRY-09", 1, citadel.LinkManual}, {"s3_public", "NET-03", 1, citadel.LinkImported}}
	if d := cmp.Diff(wantEff, shorten(eff)); d != "" {
		t.Errorf("ListEffectiveSCFLinks (-want +got):\n%s", d)
	}
	one, err := s.EffectiveLinksOfCheck(ctx, "s3_public")
	if d := cmp.Diff(wantEff[1:], shorten(one)); err != nil || d != "" {
		t.Errorf("EffectiveLinksOfCheck: %v (-want +got):\n%s", err, d)
	}

	// What an import does (rewrite the check, replace its links) leaves them.
	if err := s.PutChecks(ctx, []citadel.SecurityCheck{catalogCheck("s3_public")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCheckSCFLinks(ctx, imported); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ListLinkCorrections(ctx); err != nil || len(got) != 2 {
		t.Errorf("after the import's writes: %v, %v; want both corrections", got, err)
	}

	// The file's batch write validates each correction.
	bad := fix("s3_public", "CRY-05", citadel.LinkAdd)
	bad.By = ""
	if err := s.PutLinkCorrections(ctx, []citadel.LinkCorrection{fix("s3_public", "NET-03", citadel.LinkRemove), bad}); !citadel.IsInvalid(err) {
		t.Errorf("PutLinkCorrections with no by: %v, want invalid", err)
	}
	if got, _ := s.ListLinkCorrections(ctx); len(got) != 2 {
		t.Errorf("a refused batch wrote: %v", got)
	}
}
