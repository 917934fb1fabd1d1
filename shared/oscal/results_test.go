package oscal

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/export"
	oscaltypes "github.com/defenseunicorns/go-oscal/src/types/oscal-1-2-2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func parseResults(t *testing.T, ds export.Dataset) *oscaltypes.AssessmentResults {
	t.Helper()
	b, err := AssessmentResults(ds)
	if err != nil {
		t.Fatal(err)
	}
	var doc oscaltypes.OscalCompleteSchema
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.AssessmentResults
}

// TestResultFindings: one finding per assessed requirement, satisfied or
// not as Requirement.Result says, with the observations of the findings
// mapped to it; the reviewed controls are those requirements; one not
// covered has no finding and is named not assessed.
func TestResultFindings(t *testing.T) {
	r := parseResults(t, fixture()).Results[0]
	type row struct{ Target, Type, State, Reason string }
	got := map[string]row{}
	related := map[string]int{}
	for _, f := range *r.Findings {
		got[prop(f.Props, "requirement-ref-id")] = row{f.Target.TargetId, f.Target.Type, f.Target.Status.State, f.Target.Status.Reason}
		if f.RelatedObservations != nil {
			related[f.Target.TargetId] = len(*f.RelatedObservations)
		}
	}
	want := map[string]row{
		"CC6.1": {"CC6.1", "objective-id", "not-satisfied", "fail"},
		"CC6.7": {"CC6.7", "objective-id", "satisfied", "pass"},
		"CC7.1": {"CC7.1", "objective-id", "not-satisfied", "fail"},
		"CC7.2": {"CC7.2", "objective-id", "satisfied", "pass"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"CC6.1": 4, "CC6.7": 1, "CC7.1": 1, "CC7.2": 2}, related); diff != "" {
		t.Errorf("related observations per requirement (-want +got):\n%s", diff)
	}
	var reviewed []string
	for _, sel := range *r.ReviewedControls.ControlSelections[0].IncludeControls {
		reviewed = append(reviewed, sel.ControlId)
	}
	if diff := cmp.Diff([]string{"CC6.1", "CC6.7", "CC7.1", "CC7.2"}, reviewed); diff != "" {
		t.Errorf("reviewed controls (-want +got):\n%s", diff)
	}
	if got := prop(r.Props, "requirement-not-assessed"); got != "CC9.2" {
		t.Errorf("requirement-not-assessed %q, want CC9.2", got)
	}
	if want, got := at("2025-03-01T04:00:00Z"), r.Start; !got.Equal(want) || !r.End.Equal(at("2025-03-02T04:00:00Z")) {
		t.Errorf("result from %v to %v, want the earliest and latest scan", r.Start, r.End)
	}
}

// TestResultRisks: a risk per failing or excepted finding; open, or
// deviation-approved with the exception's id, owner and expiry.
func TestResultRisks(t *testing.T) {
	r := parseResults(t, fixture()).Results[0]
	type row struct{ Status, Exception, Owner, Expires string }
	got := map[string]row{}
	for _, rk := range *r.Risks {
		got[prop(rk.Props, "check-id")+" "+prop(rk.Props, "asset-arn")] = row{rk.Status,
			prop(rk.Props, "exception-id"), prop(rk.Props, "exception-owner"), prop(rk.Props, "exception-expires")}
	}
	want := map[string]row{
		"s3_bucket_public_access " + arnProdLogs:    {Status: "open"},
		"ec2_instance_imdsv2_enabled " + arnStageVM: {Status: "open"},
		"iam_no_root_access_key " + arnStageRoot:    {Status: "open"},
		"iam_root_mfa_enabled " + arnProdRoot:       {"deviation-approved", "exc-root-mfa", "security-team", "2025-06-30T00:00:00Z"},
		"s3_bucket_public_access " + arnStageWeb:    {"deviation-approved", "exc-stage-assets", "web-team", "2025-04-30T00:00:00Z"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("risks (-want +got):\n%s", diff)
	}
}

// TestObservations: one per finding, a TEST of the asset (an inventory
// item of the result) collected at its scan; the evidence record is its
// relevant evidence, pointing at a back-matter resource with the revision
// chain's hashes.
func TestObservations(t *testing.T) {
	ds := fixture()
	ar := parseResults(t, ds)
	r := ar.Results[0]
	if len(*r.Observations) != len(ds.Findings) {
		t.Fatalf("%d observations for %d findings", len(*r.Observations), len(ds.Findings))
	}
	items := map[string]bool{}
	for _, it := range *r.LocalDefinitions.InventoryItems {
		items[it.UUID] = true
	}
	resources := map[string]oscaltypes.Resource{}
	for _, res := range *ar.BackMatter.Resources {
		resources[res.UUID] = res
	}
	withEvidence := 0
	for _, o := range *r.Observations {
		subj := (*o.Subjects)[0]
		if !slices.Equal(o.Methods, []string{"TEST"}) || subj.Type != "inventory-item" || !items[subj.SubjectUuid] {
			t.Errorf("%s: methods %v, subject %+v: want TEST of an inventory item of the result", o.Title, o.Methods, subj)
		}
		if want := map[string]string{"int-prod": "2025-03-02T04:00:00Z", "int-stage": "2025-03-01T04:00:00Z"}[prop(o.Props, "integration-id")]; stamp(o.Collected) != want {
			t.Errorf("%s: collected %v, want %s", o.Title, o.Collected, want)
		}
		if o.RelevantEvidence == nil {
			continue
		}
		withEvidence++
		ev := (*o.RelevantEvidence)[0]
		res, ok := resources[strings.TrimPrefix(ev.Href, "#")]
		if !ok {
			t.Fatalf("%s: relevant evidence %s is no back-matter resource", o.Title, ev.Href)
		}
		var hashes []string
		for _, p := range *res.Props {
			if p.Name == "revision-hash" {
				hashes = append(hashes, p.Value)
			}
		}
		revs := ds.Evidence[0].Revisions
		if diff := cmp.Diff([]string{revs[0].Hash, revs[1].Hash}, hashes); diff != "" {
			t.Errorf("revision hashes of the evidence resource (-want +got):\n%s", diff)
		}
	}
	if withEvidence != 1 {
		t.Errorf("%d observations with evidence, want 1", withEvidence)
	}
}

// TestUUIDs: in both documents every uuid is a UUIDv5, none is defined
// twice, and every uuid reference ("…-uuid", "…-uuids", an href "#uuid")
// names one defined in the document.
func TestUUIDs(t *testing.T) {
	if want := uuid.NewSHA1(uuid.NameSpaceURL, []byte(NamespaceURI)); Namespace != want {
		t.Fatalf("Namespace is %s, want UUIDv5(URL, %s) = %s", Namespace, NamespaceURI, want)
	}
	for _, ds := range []export.Dataset{fixture(), emptyDataset()} {
		for _, doc := range documents {
			b, err := doc.make(ds)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			defined, refs := map[string]int{}, map[string]bool{}
			walk(v, func(key string, s string) {
				switch {
				case key == "uuid":
					defined[s]++
					if u, err := uuid.Parse(s); err != nil || u.Version() != 5 {
						t.Errorf("%s: uuid %s is not a UUIDv5", doc.name, s)
					}
				case strings.HasSuffix(key, "-uuid") || strings.HasSuffix(key, "-uuids"):
					refs[s] = true
				case key == "href" && strings.HasPrefix(s, "#"):
					refs[s[1:]] = true
				}
			})
			for u, n := range defined {
				if n > 1 {
					t.Errorf("%s of %s: uuid %s defined %d times", doc.name, ds.Framework.ID, u, n)
				}
			}
			for u := range refs {
				if defined[u] == 0 {
					t.Errorf("%s of %s: reference to %s, which the document does not define", doc.name, ds.Framework.ID, u)
				}
			}
		}
	}
}

// walk calls fn with every string in v and the key it is under (a list's
// strings are under the list's key).
func walk(v any, fn func(key, s string)) {
	var rec func(key string, v any)
	rec = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				rec(k, e)
			}
		case []any:
			for _, e := range x {
				rec(key, e)
			}
		case string:
			fn(key, x)
		}
	}
	rec("", v)
}

func TestControlID(t *testing.T) {
	tests := map[string]string{
		"CC6.1": "CC6.1", "A.5.1": "A.5.1", "ac-2": "ac-2", "_x": "_x",
		"1.1": "req-1.1", "2.1.3": "req-2.1.3", "3.4 (a)": "req-3.4__a_", "PCI:1/2": "req-PCI_1_2",
	}
	for in, want := range tests {
		if got := controlID(in); got != want || !tokenPattern.MatchString(got) {
			t.Errorf("controlID(%q) = %q, want the token %q", in, got, want)
		}
	}
}

// TestBadDatasets: datasets the documents cannot honestly say are errors
// that name the dataset and the fault.
func TestBadDatasets(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(*export.Dataset)
		want   string
	}{
		{"no generated time", func(ds *export.Dataset) { ds.Generated = time.Time{} }, "no generated time"},
		{"a time OSCAL cannot hold", func(ds *export.Dataset) { ds.Findings[0].FirstSeen = at("1850-01-01T00:00:00Z") }, "outside the years"},
		{"no framework", func(ds *export.Dataset) { ds.Framework.ID = "" }, "no framework id"},
		{"a finding twice", func(ds *export.Dataset) { ds.Findings = append(ds.Findings, ds.Findings[0]) }, "two findings of check s3_bucket_public_access"},
		{"two ref ids, one control id", func(ds *export.Dataset) {
			ds.Requirements = append(ds.Requirements, export.Requirement{RefID: "1.1"}, export.Requirement{RefID: "req-1.1"})
		}, `"1.1" and "req-1.1"`},
	}
	for _, tc := range tests {
		for _, doc := range documents {
			t.Run(tc.name+"/"+doc.name, func(t *testing.T) {
				ds := fixture()
				tc.break_(&ds)
				_, err := doc.make(ds)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "oscal: ") {
					t.Errorf("error %v, want one naming %s", err, tc.want)
				}
			})
		}
	}
}

// TestEmptyDataset: no finding, control or requirement still gives one
// result, an include-all selection saying nothing was assessed, and no
// observations, risks or findings.
func TestEmptyDataset(t *testing.T) {
	r := parseResults(t, emptyDataset()).Results[0]
	if r.Observations != nil || r.Risks != nil || r.Findings != nil {
		t.Errorf("an empty dataset has observations, risks or findings")
	}
	sel := r.ReviewedControls.ControlSelections[0]
	if sel.IncludeAll == nil || sel.IncludeControls != nil {
		t.Errorf("selection %+v, want include-all", sel)
	}
	if !r.Start.Equal(r.End.UTC()) || !r.Start.Equal(emptyDataset().Generated) {
		t.Errorf("result from %v to %v, want the dataset's date (no scan)", r.Start, r.End)
	}
}
