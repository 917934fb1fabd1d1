package httpapi

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
)

// controlCounts is what a test compares of a control: its posture, counts
// and the integrations that count in it.
type controlCounts struct {
	Posture      citadel.Posture
	Pass, Fail   int
	Integrations []string
}

func countsOf(cs []citadel.AppliedControl) map[string]controlCounts {
	out := map[string]controlCounts{}
	for _, c := range cs {
		out[c.RefID] = controlCounts{c.Posture, c.PassCount, c.FailCount, slices.Sorted(maps.Keys(c.Integrations))}
	}
	return out
}

// seedContribution stores a control of the folder with these integrations'
// contributions, mapped to soc2:cc_6_1, as the controls step leaves them.
func seedContribution(t *testing.T, f *fixture, scfID string, by map[string]citadel.IntegrationPosture) {
	t.Helper()
	ctx := context.Background()
	c := citadel.AppliedControl{
		ID: citadel.AppliedControlIDForSCF(testFolder, scfID), FolderID: testFolder, RefID: scfID, Name: "Control " + scfID,
		Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, IsAutomated: true,
		SCFControlID: scfID, Integrations: by, CreatedAt: t0, UpdatedAt: t0,
	}
	c.SumIntegrations()
	if _, err := f.store.PutControl(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutControlMappings(ctx, testFolder, []citadel.ControlRequirementMapping{
		{ControlID: c.ID, RequirementID: "soc2:cc_6_1", FrameworkID: "soc2", Source: citadel.MappingSCF},
	}); err != nil {
		t.Fatal(err)
	}
}

// Deleting an integration archives it and takes its counts out of the
// folder's controls and coverage: a control it failed alone has nothing
// left (not_scanned), one it shared keeps the other integration's counts,
// one it never touched is unchanged. While a scan holds it, the delete is a
// 409 and changes nothing; its scans stay listed, and its account can be
// added again.
func TestDeleteIntegrationRemovesItsCounts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putFrameworks("soc2")
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	gone := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["soc2"],"schedule_expression":"rate(1 day)"}`)
	kept := f.createIntegration(`{"name":"dev","account_id":"210987654321","frameworks":["soc2"]}`)
	seedContribution(t, f, "IAC-06", map[string]citadel.IntegrationPosture{gone.ID: {Failed: 2}, kept.ID: {Passed: 3}})
	seedContribution(t, f, "IAC-07", map[string]citadel.IntegrationPosture{gone.ID: {Failed: 1, Passed: 1}})
	seedContribution(t, f, "IAC-08", map[string]citadel.IntegrationPosture{kept.ID: {Passed: 1}})

	controls := func() map[string]controlCounts {
		t.Helper()
		rec := f.do("GET", "/controls", "")
		expect(t, rec, http.StatusOK, "", "")
		return countsOf(decodeBody[citadel.Page[citadel.AppliedControl]](t, rec).Items)
	}
	coverage := func() compliance.Coverage {
		t.Helper()
		rec := f.do("GET", "/frameworks/soc2/coverage", "")
		expect(t, rec, http.StatusOK, "", "")
		return decodeBody[compliance.View](t, rec).Coverage
	}
	before := map[string]controlCounts{
		"IAC-06": {citadel.PosturePartial, 3, 2, []string{gone.ID, kept.ID}},
		"IAC-07": {citadel.PosturePartial, 1, 1, []string{gone.ID}},
		"IAC-08": {citadel.PosturePassing, 1, 0, []string{kept.ID}},
	}
	if d := cmp.Diff(before, controls()); d != "" {
		t.Fatalf("controls before (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[citadel.Posture]int{citadel.PosturePartial: 2, citadel.PosturePassing: 1}, coverage().ControlsByPosture); d != "" {
		t.Errorf("coverage before (-want +got):\n%s", d)
	}

	// A scan holds the integration: 409 naming it, nothing changes.
	rec := f.do("POST", "/integrations/"+gone.ID+"/scans", "")
	expect(t, rec, http.StatusAccepted, "", "")
	sc := decodeBody[citadel.Scan](t, rec)
	expect(t, f.do("DELETE", "/integrations/"+gone.ID, ""), http.StatusConflict, "conflict", "has scan "+sc.ID)
	expect(t, f.do("GET", "/integrations/"+gone.ID, ""), http.StatusOK, "", "")
	if _, err := f.schedules.Get(ctx, gone.ID); err != nil {
		t.Errorf("schedule after a refused delete: %v", err)
	}
	if d := cmp.Diff(before, controls()); d != "" {
		t.Fatalf("controls after a refused delete (-want +got):\n%s", d)
	}
	sc.Status, sc.FinishedAt, sc.Summary = citadel.ScanSucceeded, t0, nil
	if _, err := f.store.FinishScan(ctx, sc); err != nil {
		t.Fatal(err)
	}

	expect(t, f.do("DELETE", "/integrations/"+gone.ID, ""), http.StatusNoContent, "", "")
	after := map[string]controlCounts{
		"IAC-06": {citadel.PosturePassing, 3, 0, []string{kept.ID}},
		"IAC-07": {citadel.PostureNotScanned, 0, 0, nil},
		"IAC-08": {citadel.PosturePassing, 1, 0, []string{kept.ID}},
	}
	if d := cmp.Diff(after, controls()); d != "" {
		t.Errorf("controls after delete (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[citadel.Posture]int{citadel.PosturePassing: 2, citadel.PostureNotScanned: 1}, coverage().ControlsByPosture); d != "" {
		t.Errorf("coverage after delete (-want +got):\n%s", d)
	}

	// Gone from reads and writes; its scans and results stay readable.
	expect(t, f.do("GET", "/integrations/"+gone.ID, ""), http.StatusNotFound, "not_found", gone.ID)
	expect(t, f.do("PATCH", "/integrations/"+gone.ID, `{"name":"x"}`), http.StatusNotFound, "not_found", gone.ID)
	expect(t, f.do("POST", "/integrations/"+gone.ID+"/scans", ""), http.StatusNotFound, "not_found", gone.ID)
	if _, err := f.schedules.Get(ctx, gone.ID); !citadel.IsNotFound(err) {
		t.Errorf("schedule after delete: %v, want not found", err)
	}
	listed := decodeBody[citadel.Page[citadel.Integration]](t, f.do("GET", "/integrations", ""))
	if len(listed.Items) != 1 || listed.Items[0].ID != kept.ID {
		t.Errorf("integrations after delete: %+v", listed.Items)
	}
	rec = f.do("GET", "/integrations/"+gone.ID+"/scans", "")
	expect(t, rec, http.StatusOK, "", "")
	if scans := decodeBody[citadel.Page[citadel.Scan]](t, rec).Items; len(scans) != 1 || scans[0].ID != sc.ID || scans[0].Status != citadel.ScanSucceeded {
		t.Errorf("scans of the deleted integration: %+v", scans)
	}
	expect(t, f.do("GET", "/scans/"+sc.ID, ""), http.StatusOK, "", "")
	expect(t, f.do("GET", "/results?integration_id="+gone.ID, ""), http.StatusOK, "", "")

	// Again: harmless, nothing changes; an unknown id is still a 404.
	expect(t, f.do("DELETE", "/integrations/"+gone.ID, ""), http.StatusNoContent, "", "")
	if d := cmp.Diff(after, controls()); d != "" {
		t.Errorf("controls after a second delete (-want +got):\n%s", d)
	}
	expect(t, f.do("DELETE", "/integrations/int-nope", ""), http.StatusNotFound, "not_found", "int-nope")
	// The account's claim went with it.
	f.createIntegration(`{"name":"prod again","account_id":"123456789012","frameworks":["soc2"]}`)
}
