package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
)

// A framework's coverage narrowed to one integration counts each control as
// that integration's results alone make it: a control another integration
// failed passes for this one, one it has no results for is not scanned.
// An integration of another folder is refused, an unknown one is a 404.
func TestCoverageOfOneIntegration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putFrameworks("soc2")
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	prod := f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["soc2"]}`)
	dev := f.createIntegration(`{"name":"dev","account_id":"210987654321","frameworks":["soc2"]}`)
	seedContribution(t, f, "IAC-06", map[string]citadel.IntegrationPosture{prod.ID: {Failed: 2}, dev.ID: {Passed: 3}})
	seedContribution(t, f, "IAC-07", map[string]citadel.IntegrationPosture{prod.ID: {Failed: 1, Passed: 1}})
	seedContribution(t, f, "IAC-08", map[string]citadel.IntegrationPosture{dev.ID: {Passed: 1}})
	expect(t, f.do("POST", "/folders", `{"id":"folder-2","name":"two"}`), http.StatusCreated, "", "")
	other := f.createIntegration(`{"folder_id":"folder-2","name":"other","account_id":"333333333333","frameworks":["soc2"]}`)

	tests := []struct {
		name, query string
		want        map[citadel.Posture]int
		status      int
		code, msg   string
	}{
		{"the folder", "", map[citadel.Posture]int{citadel.PosturePartial: 2, citadel.PosturePassing: 1}, http.StatusOK, "", ""},
		{"prod", "?integration_id=" + prod.ID, map[citadel.Posture]int{citadel.PostureIssues: 1, citadel.PosturePartial: 1, citadel.PostureNotScanned: 1}, http.StatusOK, "", ""},
		{"dev", "?integration_id=" + dev.ID, map[citadel.Posture]int{citadel.PosturePassing: 2, citadel.PostureNotScanned: 1}, http.StatusOK, "", ""},
		{"another folder's", "?integration_id=" + other.ID, nil, http.StatusBadRequest, "invalid", "is in folder folder-2"},
		{"unknown", "?integration_id=int-nope", nil, http.StatusNotFound, "not_found", "int-nope"},
		{"malformed", "?integration_id=%20x%00", nil, http.StatusBadRequest, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.do("GET", "/frameworks/soc2/coverage"+tt.query, "")
			expect(t, rec, tt.status, tt.code, tt.msg)
			if tt.status != http.StatusOK {
				return
			}
			v := decodeBody[compliance.View](t, rec)
			if d := cmp.Diff(tt.want, v.Coverage.ControlsByPosture); d != "" {
				t.Errorf("controls by posture (-want +got):\n%s", d)
			}
			if tt.query != "" && v.IntegrationID == "" {
				t.Errorf("the view does not name its integration: %+v", v)
			}
		})
	}
}

// An organization's coverage is its own contribution and its members':
// another integration of the folder does not count, and a member's own
// view is its alone.
func TestCoverageOfAnOrganization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putFrameworks("soc2")
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	org := f.createIntegration(`{"name":"Acme","account_id":"444455556666","role_arn":"arn:aws:iam::444455556666:role/CitadelScanner","frameworks":["soc2"],"kind":"organization"}`)
	var members []citadel.Integration
	for _, a := range []string{"222233334444", "333344445555"} {
		m := org.Member(a, "", t0)
		if err := f.store.CreateIntegration(ctx, m); err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	alone := f.createIntegration(`{"name":"alone","account_id":"210987654321","frameworks":["soc2"]}`)
	seedContribution(t, f, "IAC-06", map[string]citadel.IntegrationPosture{members[0].ID: {Failed: 1}, alone.ID: {Passed: 4}})
	seedContribution(t, f, "IAC-07", map[string]citadel.IntegrationPosture{members[1].ID: {Passed: 2}, org.ID: {Passed: 1}})
	seedContribution(t, f, "IAC-08", map[string]citadel.IntegrationPosture{alone.ID: {Failed: 1}})

	for _, tt := range []struct {
		name, id string
		want     map[citadel.Posture]int
	}{
		{"the organization", org.ID, map[citadel.Posture]int{citadel.PostureIssues: 1, citadel.PosturePassing: 1, citadel.PostureNotScanned: 1}},
		{"a member", members[1].ID, map[citadel.Posture]int{citadel.PosturePassing: 1, citadel.PostureNotScanned: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.do("GET", "/frameworks/soc2/coverage?integration_id="+tt.id, "")
			expect(t, rec, http.StatusOK, "", "")
			v := decodeBody[compliance.View](t, rec)
			if d := cmp.Diff(tt.want, v.Coverage.ControlsByPosture); d != "" {
				t.Errorf("controls by posture (-want +got):\n%s", d)
			}
			if v.IntegrationID != tt.id {
				t.Errorf("the view names %q, want %q", v.IntegrationID, tt.id)
			}
		})
	}
}
