package policies_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/policies"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

type env struct {
	store  *ddb.Store
	client *dynamodb.Client
	table  string
	h      *policies.Handler
}

func scanControl(scf string, integrations ...string) citadel.AppliedControl {
	c := citadel.AppliedControl{
		ID: citadel.AppliedControlIDForSCF("f1", scf), FolderID: "f1", RefID: "SCF-" + scf, Name: "SCF-" + scf + ": x",
		Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, IsAutomated: true,
		SCFControlID: scf, Integrations: map[string]citadel.IntegrationPosture{}, CreatedAt: t0, UpdatedAt: t0,
	}
	for _, i := range integrations {
		c.Integrations[i] = citadel.IntegrationPosture{Passed: 1}
	}
	c.SumIntegrations()
	return c
}

// newEnv stores templates and controls:
//
//	POL.ACCESS governs IAC-01 and IAC-02; POL.LOGGING governs MON-01;
//	TECH.MFA (category technical, not a policy template) governs IAC-01.
//	Controls: SCF IAC-01 and MON-01 (touched by int-1), SCF DCH-01 (int-2
//	only), a requirement-based control (no SCF control).
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, table := testenv.Table(t, cfg)
	s := ddb.NewFromClient(client, table)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutReferenceControls(ctx, []citadel.ReferenceControl{
		{ID: "POL.ACCESS", Name: "Access Control Policy", Description: "Who may access what.", Category: citadel.CategoryPolicy, SCFIDs: []string{"IAC-01", "IAC-02"}},
		{ID: "POL.LOGGING", Name: "Logging Policy", Description: "What is logged.", Category: citadel.CategoryPolicy, SCFIDs: []string{"MON-01", "DCH-01"}},
		{ID: "TECH.MFA", Name: "MFA", Category: citadel.CategoryTechnical, SCFIDs: []string{"IAC-01"}},
	}))
	must(s.PutSCFMappings(ctx, []citadel.SCFFrameworkMapping{
		{SCFID: "IAC-01", RequirementID: "soc2:cc_6_1", FrameworkID: "soc2", Relationship: citadel.RelEqual},
		{SCFID: "IAC-01", RequirementID: "iso27001_2022:A.5.15", FrameworkID: "iso27001_2022", Relationship: citadel.RelSubset},
	}))
	req := citadel.AppliedControl{
		ID: citadel.AppliedControlIDForRequirement("f1", "cis_3.0:1.14"), FolderID: "f1", RefID: "REQ-CIS_3.0-1.14", Name: "REQ-CIS_3.0-1.14",
		Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, SourceRequirementID: "cis_3.0:1.14",
		Integrations: map[string]citadel.IntegrationPosture{"int-1": {Failed: 1}},
	}
	_, err := s.PutControls(ctx, []citadel.AppliedControl{scanControl("IAC-01", "int-1"), scanControl("MON-01", "int-1", "int-2"), scanControl("DCH-01", "int-2"), req})
	must(err)
	return &env{store: s, client: client, table: table, h: &policies.Handler{Store: s, Catalog: s, Env: stepfn.Env{Clock: func() time.Time { return t0 }}}}
}

func in(integ, scan string) citadel.PoliciesInput {
	return citadel.PoliciesInput{Plan: citadel.PlanOutput{FolderID: "f1", IntegrationID: integ, ScanID: scan}}
}

func (e *env) run(t *testing.T, integ, scan string) citadel.PoliciesOutput {
	t.Helper()
	out, err := e.h.Handle(context.Background(), in(integ, scan))
	if err != nil {
		t.Fatal(err)
	}
	out.Usage = citadel.Usage{}
	return out
}

func (e *env) dump(t *testing.T) []map[string]any {
	t.Helper()
	var items []map[string]any
	if err := dynamo.NewFromIface(e.client).Table(e.table).Scan().All(context.Background(), &items); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(items, func(a, b map[string]any) int {
		x, y := fmt.Sprint(a["PK"], "|", a["SK"]), fmt.Sprint(b["PK"], "|", b["SK"])
		if x < y {
			return -1
		}
		if x > y {
			return 1
		}
		return 0
	})
	return items
}

func TestPoliciesFromTemplatesAndDedup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	out := e.run(t, "int-1", "scn-1")
	if d := cmp.Diff(citadel.PoliciesOutput{PoliciesCreated: 2}, out); d != "" {
		t.Errorf("first run (-want +got):\n%s", d)
	}
	pol, err := e.store.GetControl(ctx, citadel.PolicyID("f1", "POL.ACCESS", "IAC-01"))
	if err != nil {
		t.Fatal(err)
	}
	want := citadel.AppliedControl{
		ID: citadel.PolicyID("f1", "POL.ACCESS", "IAC-01"), FolderID: "f1", RefID: "POL.ACCESS-IAC-01", Name: "POL.ACCESS [IAC-01]",
		Description: "Who may access what.", Category: citadel.CategoryPolicy, Origin: citadel.OriginScan, Status: citadel.ControlToDo,
		SCFControlID: "IAC-01", ReferenceControlID: "POL.ACCESS", Posture: citadel.PostureNotScanned, LastScanID: "scn-1",
		CreatedAt: t0, UpdatedAt: t0, Version: 1,
	}
	if d := cmp.Diff(want, pol, cmpEmpty); d != "" {
		t.Errorf("policy (-want +got):\n%s", d)
	}
	ms, err := e.store.RequirementsOfControl(ctx, pol.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantMs := []citadel.ControlRequirementMapping{
		{ControlID: pol.ID, RequirementID: "iso27001_2022:A.5.15", FrameworkID: "iso27001_2022", Source: citadel.MappingSCF},
		{ControlID: pol.ID, RequirementID: "soc2:cc_6_1", FrameworkID: "soc2", Source: citadel.MappingSCF},
	}
	if d := cmp.Diff(wantMs, ms); d != "" {
		t.Errorf("policy mappings (-want +got):\n%s", d)
	}
	if _, err := e.store.GetControl(ctx, citadel.PolicyID("f1", "POL.LOGGING", "MON-01")); err != nil {
		t.Errorf("POL.LOGGING [MON-01]: %v", err)
	}
	for _, id := range []string{citadel.PolicyID("f1", "TECH.MFA", "IAC-01"), citadel.PolicyID("f1", "POL.LOGGING", "DCH-01")} {
		if _, err := e.store.GetControl(ctx, id); !citadel.IsNotFound(err) {
			t.Errorf("policy %s: got %v; want none (not a policy template / not this scan's SCF control)", id, err)
		}
	}

	// The same input again (the state machine's retry of this scan's step):
	// nothing written, the table unchanged, and the policies this scan
	// created still counted as created, so a retried step reports what the
	// first attempt did.
	before := e.dump(t)
	e.h.Clock = func() time.Time { return t0.Add(time.Hour) }
	if d := cmp.Diff(citadel.PoliciesOutput{PoliciesCreated: 2}, e.run(t, "int-1", "scn-1")); d != "" {
		t.Errorf("re-run (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, e.dump(t)); d != "" {
		t.Errorf("re-run changed the table (-before +after):\n%s", d)
	}
	// int-2 touches MON-01 (policy exists) and DCH-01 (new).
	if d := cmp.Diff(citadel.PoliciesOutput{PoliciesCreated: 1, PoliciesSkipped: 1}, e.run(t, "int-2", "scn-2")); d != "" {
		t.Errorf("int-2 (-want +got):\n%s", d)
	}
}

func TestPoliciesEmptyAndBadInput(t *testing.T) {
	e := newEnv(t)
	if d := cmp.Diff(citadel.PoliciesOutput{}, e.run(t, "int-9", "scn-1")); d != "" {
		t.Errorf("integration without controls (-want +got):\n%s", d)
	}
	e.h.Store = e.store
	if _, err := e.h.Handle(context.Background(), citadel.PoliciesInput{}); !citadel.IsInvalid(err) {
		t.Errorf("empty plan: got %v, want invalid", err)
	}
}

var cmpEmpty = cmpopts.EquateEmpty()
