package evidence_test

// Steps 4–6 over the real catalog (../shared/data: Prowler 5.40.0 and SCF
// 2025.2.2, imported by the catalog import step) and Prowler's example OCSF
// output (ingested by the check-results step). Test code only imports the
// other steps; the steps themselves stay independent.

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
	"github.com/citadelsecure/citadel/shared/steps/policies"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestRealCatalogAndExampleOCSF(t *testing.T) {
	ctx := context.Background()
	dir := testenv.SharedData(t)
	cfg := testenv.Config(t)
	acct, accountID, _ := testenv.Account(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	clock := func() time.Time { return t0 }
	s := testenv.Store(t, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}), ddb.WithClock(clock))

	if _, err := (&catalogimport.Handler{Store: s, Env: stepfn.Env{Clock: clock}}).Handle(ctx, citadel.CatalogImportInput{
		ProwlerSource: filepath.Join(dir, "prowler"), ProwlerVersion: "5.40.0", SCFSource: filepath.Join(dir, "scf"),
	}); err != nil {
		t.Fatal(err)
	}

	const integ, folder = "int-real", "f-real"
	root := "arn:aws:iam::" + accountID + ":root"
	analyzer := "arn:aws:accessanalyzer:us-east-1:" + accountID + ":analyzer/unknown"
	var assets []citadel.Asset
	for _, a := range []struct{ arn, typ, name string }{{root, "AWS::IAM::Root", "root"}, {analyzer, "AWS::AccessAnalyzer::Analyzer", "unknown"}} {
		assets = append(assets, citadel.Asset{IntegrationID: integ, Source: citadel.SourceAWS, SourceID: a.arn, ServiceType: a.typ, Name: a.name,
			Region: "us-east-1", AccountID: accountID, IsActive: true, FirstSeen: t0, LastSeen: t0})
	}
	if err := s.PutAssets(ctx, assets); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	filled := strings.NewReplacer("<account_uid>", accountID, "<resource_uid>", analyzer, "<region>", "us-east-1").Replace(string(raw))
	checks := []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
		"account_maintain_different_contact_details_to_security_billing_and_operations",
		"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"}
	manifest, _ := json.Marshal(citadel.ProwlerManifest{ScanID: "scan-1", FindingCount: 5, ChecksExecuted: checks})
	for key, body := range map[string][]byte{
		citadel.ScanObjectKey("scan-1", citadel.OCSFFileName): []byte(filled),
		citadel.ScanObjectKey("scan-1", citadel.ManifestName): manifest,
	} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	plan := citadel.PlanOutput{ScanID: "scan-1", IntegrationID: integ, FolderID: folder, AccountID: accountID, Bucket: bucket}
	res, err := (&checkresults.Handler{Store: s, S3: s3c, Events: eventbridge.NewFromConfig(acct), Env: stepfn.Env{Clock: clock}}).Handle(ctx, citadel.CheckResultsInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResultsCreated != 5 {
		t.Fatalf("check results: %+v; want 5 created", res)
	}

	ch := &controls.Handler{Store: s, Catalog: s, Results: s, Env: stepfn.Env{Clock: clock}}
	ph := &policies.Handler{Store: s, Catalog: s, Env: stepfn.Env{Clock: clock}}
	eh := &evidence.Handler{Store: s, Catalog: s, Results: s, Assets: s, Env: stepfn.Env{Clock: clock}}
	co, err := ch.Handle(ctx, citadel.ControlsInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	po, err := ph.Handle(ctx, citadel.PoliciesInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	eo, err := eh.Handle(ctx, citadel.EvidenceInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("controls %+v\npolicies %+v\nevidence %+v", co, po, eo)

	// What the catalog says the controls must be, worked out independently.
	wantSCF, wantReq := map[string]bool{}, map[string]bool{}
	page, err := s.ListResults(ctx, integ, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Items {
		links, err := s.SCFLinksOfCheck(ctx, r.CheckID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			wantSCF[l.SCFID] = true
		}
		if len(links) == 0 {
			c, err := s.GetCheck(ctx, r.CheckID)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range c.MappedRequirements {
				wantReq[req] = true
			}
		}
	}
	if len(wantSCF) == 0 {
		t.Fatal("the example's checks link to no SCF control: the test would prove nothing")
	}
	all, err := s.AllControls(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	gotSCF, gotReq, gotPolicies := map[string]bool{}, map[string]bool{}, 0
	for _, c := range all {
		switch {
		case c.IsPolicy():
			gotPolicies++
		case c.SCFControlID != "":
			gotSCF[c.SCFControlID] = true
			scf, err := s.GetSCFControl(ctx, c.SCFControlID)
			if err != nil {
				t.Fatal(err)
			}
			if c.RefID != "SCF-"+scf.ID || c.Name != "SCF-"+scf.ID+": "+scf.Title || c.Description != scf.Description {
				t.Errorf("SCF control %s: ref %q name %q", scf.ID, c.RefID, c.Name)
			}
		default:
			gotReq[c.SourceRequirementID] = true
		}
		if want := citadel.ComputePosture(c.PassCount, c.FailCount, c.ErrorCount, c.ExceptedCount); c.Posture != want && !c.IsPolicy() {
			t.Errorf("control %s: posture %s, want %s", c.RefID, c.Posture, want)
		}
	}
	if d := cmp.Diff(wantSCF, gotSCF); d != "" {
		t.Errorf("SCF controls (-want +got):\n%s", d)
	}
	if len(wantReq) > 0 || len(gotReq) > 0 {
		if d := cmp.Diff(wantReq, gotReq); d != "" {
			t.Errorf("requirement controls (-want +got):\n%s", d)
		}
	}
	refs, err := s.ListReferenceControls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantPolicies := 0
	for _, r := range refs {
		for _, scf := range r.SCFIDs {
			if r.Category == citadel.CategoryPolicy && wantSCF[scf] {
				wantPolicies++
			}
		}
	}
	t.Logf("SCF controls %v; %d policy templates in the catalog, %d govern them", slices.Sorted(maps.Keys(wantSCF)), len(refs), wantPolicies)
	if co.ControlsCreated != len(wantSCF)+len(wantReq) || po.PoliciesCreated != wantPolicies || gotPolicies != wantPolicies || eo.EvidenceCreated != 5 {
		t.Errorf("counts: controls %+v policies %+v evidence %+v", co, po, eo)
	}
	for _, r := range page.Items {
		id := citadel.EvidenceID(integ, r.CheckID, r.AssetID)
		e, err := s.GetEvidence(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := s.VerifyEvidence(ctx, id); err != nil || b != nil {
			t.Errorf("evidence %s: chain %v, %v", e.Name, b, err)
		}
		if !slices.Contains([]string{"root", "unknown"}, e.AssetName) || !strings.HasSuffix(e.Name, ": "+mustCheck(t, s, r.CheckID).Title) {
			t.Errorf("evidence name %q", e.Name)
		}
	}

	// The same scan again creates and changes nothing.
	co2, _ := ch.Handle(ctx, citadel.ControlsInput{Plan: plan})
	po2, _ := ph.Handle(ctx, citadel.PoliciesInput{Plan: plan})
	eo2, err := eh.Handle(ctx, citadel.EvidenceInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	if co2.ControlsCreated+co2.ControlsUpdated+po2.PoliciesCreated+eo2.EvidenceCreated+eo2.EvidenceUpdated+eo2.LinksCreated != 0 || po2.PoliciesSkipped != po.PoliciesCreated {
		t.Errorf("re-run: controls %+v policies %+v evidence %+v", co2, po2, eo2)
	}
}

func mustCheck(t *testing.T, s *ddb.Store, id string) citadel.SecurityCheck {
	t.Helper()
	c, err := s.GetCheck(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
