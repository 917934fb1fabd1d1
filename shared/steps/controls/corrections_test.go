package controls_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/controls"
)

// TestLinkCorrectionsFollowNextScan: after a user removes s3_public → DCH-01
// and adds s3_public → MON-01, the next scan maps s3_public's results to
// MON-01 and no longer to DCH-01.
func TestLinkCorrectionsFollowNextScan(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.results["int-1"] = []citadel.CheckResult{
		result("int-1", "s3_public", "bucket-a", citadel.StatusPass),
		result("int-1", "s3_public", "bucket-b", citadel.StatusFail),
	}
	type share struct {
		Posture citadel.Posture
		Pass    int
		Fail    int
		Integ   bool // int-1 contributes
	}
	shares := func() map[string]share {
		t.Helper()
		out := map[string]share{}
		for _, scf := range []string{"IAC-01", "DCH-01", "MON-01"} {
			c, err := e.store.GetControl(ctx, citadel.AppliedControlIDForSCF("f1", scf))
			if citadel.IsNotFound(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			_, in := c.Integrations["int-1"]
			out[scf] = share{c.Posture, c.PassCount, c.FailCount, in}
		}
		return out
	}
	e.run(t, "int-1", "scn-1")
	before := map[string]share{
		"IAC-01": {citadel.PosturePartial, 1, 1, true},
		"DCH-01": {citadel.PosturePartial, 1, 1, true},
	}
	if d := cmp.Diff(before, shares()); d != "" {
		t.Fatalf("before the corrections (-want +got):\n%s", d)
	}
	for _, c := range []citadel.LinkCorrection{
		{CheckID: "s3_public", SCFID: "DCH-01", Action: citadel.LinkRemove, Reason: "public access is not data protection", By: "alice", At: t0},
		{CheckID: "s3_public", SCFID: "MON-01", Action: citadel.LinkAdd, Reason: "test only", By: "alice", At: t0},
	} {
		if err := e.store.PutLinkCorrection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.run(t, "int-1", "scn-2")
	after := shares()
	if got := after["DCH-01"]; got.Integ || got.Pass+got.Fail != 0 {
		t.Errorf("DCH-01 after the removal = %+v; want no share of int-1", got)
	}
	if d := cmp.Diff(share{citadel.PosturePartial, 1, 1, true}, after["MON-01"]); d != "" {
		t.Errorf("MON-01 after the add (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before["IAC-01"], after["IAC-01"]); d != "" {
		t.Errorf("IAC-01, uncorrected (-want +got):\n%s", d)
	}
}

// whys reads the why of each check link of the folder's controls, by
// control ref id and check (a link without a why reads as the zero why).
func (e *env) whys(t *testing.T) map[string]map[string]citadel.LinkWhy {
	t.Helper()
	ctx := context.Background()
	all, err := e.store.AllControls(ctx, "f1")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]citadel.LinkWhy{}
	for _, c := range all {
		links, err := e.store.LinksOfControl(ctx, c.ID, citadel.LinkCheck)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if out[c.RefID] == nil {
				out[c.RefID] = map[string]citadel.LinkWhy{}
			}
			var w citadel.LinkWhy
			if l.Why != nil {
				w = *l.Why
			}
			out[c.RefID][l.TargetID] = w
		}
	}
	return out
}

// changed names the items a run wrote or deleted between two dumps:
// "<type> <control ref>[ → <target>]" (controls and their links), else the key.
func changed(before, after []map[string]any, refs map[string]string) []string {
	index := func(items []map[string]any) map[string]map[string]any {
		m := map[string]map[string]any{}
		for _, it := range items {
			m[fmt.Sprint(it["PK"], "|", it["SK"])] = it
		}
		return m
	}
	b, a := index(before), index(after)
	name := func(it map[string]any) string {
		switch it["Type"] {
		case ddb.TypeAppliedControl:
			return fmt.Sprint(it["Type"], " ", refs[fmt.Sprint(it["ID"])])
		case ddb.TypeControlLink:
			return fmt.Sprint(it["Type"], " ", refs[fmt.Sprint(it["ControlID"])], " → ", it["Kind"], " ", it["TargetID"])
		}
		return fmt.Sprint(it["PK"], "|", it["SK"])
	}
	var out []string
	for k, it := range a {
		if prev, ok := b[k]; !ok || !cmp.Equal(prev, it) {
			out = append(out, name(it))
		}
	}
	for k, it := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "deleted "+name(it))
		}
	}
	slices.Sort(out)
	return out
}

// TestLinkWhyFollowsCorrections: each check link of a control says why the
// check links to it: an imported link's frameworks, requirements, score and
// rank; a manual link's author, date and reason; Prowler's requirement for
// a requirement's control. Corrections made after a scan change the whys at
// the next scan, which rewrites exactly the links whose why changed and
// deletes the link a correction removed; a re-import's new score does the
// same; a steady rescan writes nothing.
func TestLinkWhyFollowsCorrections(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.results["int-1"] = []citadel.CheckResult{
		result("int-1", "s3_public", "bucket-a", citadel.StatusPass),
		result("int-1", "s3_public", "bucket-b", citadel.StatusFail),
		result("int-1", "trail_on", "trail-1", citadel.StatusPass),
		result("int-1", "iam_rotate", "user-1", citadel.StatusError),
	}
	correct := func(cs ...citadel.LinkCorrection) {
		t.Helper()
		for _, c := range cs {
			if err := e.store.PutLinkCorrection(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	imported := func(check, scf string, rank int, score float64, fw, req string) citadel.LinkWhy {
		return citadel.WhyOfLink(citadel.EffectiveLink{Origin: citadel.LinkImported, CheckSCFLink: citadel.CheckSCFLink{
			CheckID: check, SCFID: scf, Rank: rank, Score: score, Frameworks: []string{fw}, Requirements: []string{req}}})
	}
	refs := map[string]string{}
	for _, scf := range []string{"IAC-01", "DCH-01", "MON-01"} {
		refs[citadel.AppliedControlIDForSCF("f1", scf)] = "SCF-" + scf
	}
	for _, req := range []string{"cis_3.0:1.14", "soc2:cc_6_1"} {
		refs[citadel.AppliedControlIDForRequirement("f1", req)] = controls.RequirementRefID(req)
	}

	// Before the first scan alice links s3_public to MON-01 by hand: it ranks first.
	watch := citadel.LinkCorrection{CheckID: "s3_public", SCFID: "MON-01", Action: citadel.LinkAdd, Reason: "CloudTrail data events watch the bucket", By: "alice", At: t0}
	correct(watch)
	e.run(t, "int-1", "scn-1")
	manualMON := citadel.LinkWhy{Origin: citadel.LinkManual, Rank: 1, By: "alice", Reason: watch.Reason, At: t0,
		Summary: "manual, rank 1: by alice on 2026-11-29: CloudTrail data events watch the bucket"}
	trail := imported("trail_on", "MON-01", 1, 0.8, "soc2", "soc2:cc_7_2")
	want := map[string]map[string]citadel.LinkWhy{
		"SCF-MON-01": {"s3_public": manualMON, "trail_on": trail},
		"SCF-IAC-01": {"s3_public": imported("s3_public", "IAC-01", 2, 0.9, "cis_3.0", "cis_3.0:2.1.1")},
		"SCF-DCH-01": {"s3_public": imported("s3_public", "DCH-01", 3, 0.5, "cis_3.0", "cis_3.0:2.1.1")},
		"REQ-CIS_3.0-1.14": {"iam_rotate": {Origin: citadel.LinkProwler, Requirements: []string{"cis_3.0:1.14"},
			Summary: "prowler: the check maps to requirement cis_3.0:1.14"}},
		"REQ-SOC2-cc_6_1": {"iam_rotate": citadel.WhyOfRequirement("soc2:cc_6_1")},
	}
	if d := cmp.Diff(want, e.whys(t)); d != "" {
		t.Fatalf("whys after the first scan (-want +got):\n%s", d)
	}
	if got := want["SCF-IAC-01"]["s3_public"].Summary; got != "imported, rank 2: frameworks cis_3.0; requirements cis_3.0:2.1.1; score 0.90" {
		t.Errorf("imported summary = %q", got)
	}

	// After the scan bob confirms s3_public → IAC-01 and removes s3_public → DCH-01.
	later := t0.Add(time.Hour)
	correct(
		citadel.LinkCorrection{CheckID: "s3_public", SCFID: "IAC-01", Action: citadel.LinkAdd, Reason: "public access is access control", By: "bob", At: later},
		citadel.LinkCorrection{CheckID: "s3_public", SCFID: "DCH-01", Action: citadel.LinkRemove, Reason: "public access is not data protection", By: "bob", At: later},
	)
	before := e.dump(t)
	e.h.Clock = func() time.Time { return later }
	out := e.run(t, "int-1", "scn-2")
	if out.ControlsUpdated != 3 || out.ControlsCreated != 0 {
		t.Errorf("second scan: %+v; want IAC-01, MON-01 and DCH-01 updated", out)
	}
	want["SCF-IAC-01"]["s3_public"] = citadel.LinkWhy{Origin: citadel.LinkManual, Rank: 1, Score: 0.9,
		Frameworks: []string{"cis_3.0"}, Requirements: []string{"cis_3.0:2.1.1"}, By: "bob", Reason: "public access is access control", At: later,
		Summary: "manual, rank 1: by bob on 2026-11-29: public access is access control (also imported: frameworks cis_3.0; requirements cis_3.0:2.1.1; score 0.90)"}
	manualMON.Rank, manualMON.Summary = 2, "manual, rank 2: by alice on 2026-11-29: CloudTrail data events watch the bucket"
	want["SCF-MON-01"]["s3_public"] = manualMON
	delete(want, "SCF-DCH-01")
	if d := cmp.Diff(want, e.whys(t)); d != "" {
		t.Errorf("whys after the corrections (-want +got):\n%s", d)
	}
	wantChanged := []string{
		"AppliedControl SCF-DCH-01", "AppliedControl SCF-IAC-01", "AppliedControl SCF-MON-01",
		"ControlLink SCF-IAC-01 → check s3_public", "ControlLink SCF-MON-01 → check s3_public",
		"deleted ControlLink SCF-DCH-01 → check s3_public",
	}
	if d := cmp.Diff(wantChanged, changed(before, e.dump(t), refs)); d != "" {
		t.Errorf("items the second scan wrote (-want +got):\n%s", d)
	}
	dch, err := e.store.GetControl(ctx, citadel.AppliedControlIDForSCF("f1", "DCH-01"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dch.SecurityCheckIDs) != 0 || len(dch.Integrations) != 0 {
		t.Errorf("DCH-01 after the removal: checks %v, integrations %v; want none", dch.SecurityCheckIDs, dch.Integrations)
	}

	// A re-import ranks trail_on → MON-01 by its text too and scores it
	// lower: only that link is rewritten.
	if err := e.store.PutCheckSCFLinks(ctx, []citadel.CheckSCFLink{
		{CheckID: "trail_on", SCFID: "MON-01", Rank: 1, Score: 0.7, Relevance: 0.6, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_7_2"}},
	}); err != nil {
		t.Fatal(err)
	}
	before = e.dump(t)
	if out := e.run(t, "int-1", "scn-3"); out.ControlsUpdated != 1 {
		t.Errorf("after the re-import: %+v; want MON-01 updated", out)
	}
	if got := e.whys(t)["SCF-MON-01"]["trail_on"]; got.Score != 0.7 || got.Summary != "imported, rank 1: frameworks soc2; requirements soc2:cc_7_2; relevance 0.60; score 0.70" {
		t.Errorf("trail_on → MON-01 after the re-import = %+v", got)
	}
	if d := cmp.Diff([]string{"AppliedControl SCF-MON-01", "ControlLink SCF-MON-01 → check trail_on"}, changed(before, e.dump(t), refs)); d != "" {
		t.Errorf("items the re-import's scan wrote (-want +got):\n%s", d)
	}

	before = e.dump(t)
	if out := e.run(t, "int-1", "scn-4"); out.ControlsUpdated+out.ControlsCreated != 0 {
		t.Errorf("steady rescan: %+v; want nothing written", out)
	}
	if d := cmp.Diff([]string(nil), changed(before, e.dump(t), refs)); d != "" {
		t.Errorf("a steady rescan wrote (-want +got):\n%s", d)
	}
}
