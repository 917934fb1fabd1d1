package oscal

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	oscaltypes "github.com/defenseunicorns/go-oscal/src/types/oscal-1-2-2"
	"github.com/google/go-cmp/cmp"
)

func parsePOAM(t *testing.T, ds export.Dataset, opts POAMOptions) *oscaltypes.PlanOfActionAndMilestones {
	t.Helper()
	b, err := POAM(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, b); err != nil {
		t.Fatalf("not valid OSCAL: %v", err)
	}
	var doc oscaltypes.OscalCompleteSchema
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.PlanOfActionAndMilestones
}

// prop is the value of the Citadel prop name in ps ("" when absent).
func prop(ps *[]oscaltypes.Property, name string) string {
	if ps == nil {
		return ""
	}
	for _, p := range *ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// TestPOAMOnlyOpenFailures: an item per effective failure (a muted one
// without exception included), none for excepted failures (muted or not),
// passes, errors or not-applicable results; each item's observation and
// risk are in the POA&M, the risk open with the item's due date as deadline
// and milestone.
func TestPOAMOnlyOpenFailures(t *testing.T) {
	p := parsePOAM(t, fixture(), POAMOptions{})
	var got []string
	for _, it := range p.PoamItems {
		got = append(got, prop(it.Props, "check-id")+" "+prop(it.Props, "asset-arn")+" muted="+prop(it.Props, "muted"))
	}
	want := []string{
		"s3_bucket_public_access " + arnProdLogs + " muted=",
		"ec2_instance_imdsv2_enabled " + arnStageVM + " muted=true",
		"iam_no_root_access_key " + arnStageRoot + " muted=",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("poam items (-want +got):\n%s", diff)
	}
	observations := map[string]bool{}
	for _, o := range *p.Observations {
		observations[o.UUID] = true
	}
	risks := map[string]oscaltypes.Risk{}
	for _, r := range *p.Risks {
		risks[r.UUID] = r
	}
	if len(observations) != 3 || len(risks) != 3 {
		t.Fatalf("%d observations and %d risks, want 3 of each (the open failures')", len(observations), len(risks))
	}
	for _, it := range p.PoamItems {
		obs, rks := *it.RelatedObservations, *it.RelatedRisks
		if len(obs) != 1 || !observations[obs[0].ObservationUuid] {
			t.Errorf("%s: related observations %v not in the POA&M", it.Title, obs)
		}
		r, ok := risks[rks[0].RiskUuid]
		if len(rks) != 1 || !ok {
			t.Fatalf("%s: related risks %v not in the POA&M", it.Title, rks)
		}
		due := prop(it.Props, "due-date")
		if r.Status != RiskOpen || r.Deadline == nil || stamp(*r.Deadline) != due {
			t.Errorf("%s: risk status %s deadline %v, want open and %s", it.Title, r.Status, r.Deadline, due)
		}
		milestone := (*(*r.Remediations)[0].Tasks)[0]
		if milestone.Type != "milestone" || stamp(milestone.Timing.OnDate.Date) != due {
			t.Errorf("%s: milestone %s on %v, want a milestone on %s", it.Title, milestone.Type, milestone.Timing, due)
		}
	}
}

// TestPOAMNoOpenFailures: with every failure excepted there is one item,
// saying none is open, and the document is valid.
func TestPOAMNoOpenFailures(t *testing.T) {
	ds := fixture()
	var fs []export.Finding
	for _, f := range ds.Findings {
		if f.Status != citadel.StatusFail {
			fs = append(fs, f)
		}
	}
	ds.Findings = fs
	p := parsePOAM(t, ds, POAMOptions{})
	if len(p.PoamItems) != 1 || prop(p.PoamItems[0].Props, "no-open-items") != "true" {
		t.Fatalf("items %+v, want the one no-open-items item", p.PoamItems)
	}
	if p.Observations != nil || p.Risks != nil {
		t.Errorf("observations or risks in a POA&M with nothing open")
	}
}

// TestPOAMDueDates: due = first seen (else scanned at) + the severity's
// window, with overrides per severity; a severity the windows do not know
// gets the shortest window in force.
func TestPOAMDueDates(t *testing.T) {
	first, scanned := at("2025-01-01T10:00:00Z"), at("2025-01-05T10:00:00Z")
	ds := export.Dataset{Generated: at("2025-03-01T00:00:00Z"), Framework: export.Framework{ID: "fw"},
		Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-a"}}
	for _, sev := range []citadel.Severity{"critical", "high", "medium", "low", "informational", "", "catastrophic"} {
		ds.Findings = append(ds.Findings, export.Finding{IntegrationID: "int-a", CheckID: "check_" + firstOf(string(sev), "none"), Severity: sev,
			AssetARN: "arn:aws:s3:::b", Status: citadel.StatusFail, ScanID: "scan-1", ScannedAt: scanned, FirstSeen: first})
	}
	ds.Findings = append(ds.Findings, export.Finding{IntegrationID: "int-a", CheckID: "check_unseen", Severity: citadel.SeverityHigh,
		AssetARN: "arn:aws:s3:::b", Status: citadel.StatusFail, ScanID: "scan-1", ScannedAt: scanned})
	days := func(base time.Time, n int) string { return stamp(base.AddDate(0, 0, n)) }
	tests := []struct {
		name    string
		windows map[citadel.Severity]int
		want    map[string]string // check → due date
	}{
		{"default windows", nil, map[string]string{
			"check_critical": days(first, 15), "check_high": days(first, 30), "check_medium": days(first, 90),
			"check_low": days(first, 180), "check_informational": days(first, 365),
			"check_none": days(first, 15), "check_catastrophic": days(first, 15), "check_unseen": days(scanned, 30),
		}},
		{"critical and low overridden", map[citadel.Severity]int{"critical": 7, "low": 60}, map[string]string{
			"check_critical": days(first, 7), "check_high": days(first, 30), "check_medium": days(first, 90),
			"check_low": days(first, 60), "check_informational": days(first, 365),
			"check_none": days(first, 7), "check_catastrophic": days(first, 7), "check_unseen": days(scanned, 30),
		}},
		{"every window overridden", map[citadel.Severity]int{"critical": 1, "high": 2, "medium": 3, "low": 4, "informational": 5}, map[string]string{
			"check_critical": days(first, 1), "check_high": days(first, 2), "check_medium": days(first, 3),
			"check_low": days(first, 4), "check_informational": days(first, 5),
			"check_none": days(first, 1), "check_catastrophic": days(first, 1), "check_unseen": days(scanned, 2),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parsePOAM(t, ds, POAMOptions{Windows: tc.windows})
			got := map[string]string{}
			for _, it := range p.PoamItems {
				got[prop(it.Props, "check-id")] = prop(it.Props, "due-date")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("due dates (-want +got):\n%s", diff)
			}
			windows := map[string]string{}
			for _, mp := range *p.Metadata.Props {
				if mp.Name == "remediation-window-days" {
					windows[mp.Class] = mp.Value
				}
			}
			if len(windows) != 5 {
				t.Errorf("metadata names %d remediation windows, want the 5 in force: %v", len(windows), windows)
			}
		})
	}
	if !maps.Equal(RemediationWindows, map[citadel.Severity]int{"critical": 15, "high": 30, "medium": 90, "low": 180, "informational": 365}) {
		t.Errorf("RemediationWindows is %v: an override must not change it, and its data is documented in docs/exports.md", RemediationWindows)
	}
}

// TestPOAMBadWindows: an override for no severity, or of less than a day,
// is an error that names it.
func TestPOAMBadWindows(t *testing.T) {
	tests := []struct {
		windows map[citadel.Severity]int
		want    string
	}{
		{map[citadel.Severity]int{"urgent": 3}, `"urgent"`},
		{map[citadel.Severity]int{"high": 0}, "high is 0 days"},
		{map[citadel.Severity]int{"low": -5}, "low is -5 days"},
	}
	for _, tc := range tests {
		_, err := POAM(fixture(), POAMOptions{Windows: tc.windows})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "POA&M of framework soc2") {
			t.Errorf("windows %v: error %v, want one naming %s and the POA&M", tc.windows, err, tc.want)
		}
	}
}

// TestPOAMOwner: the owner is DefaultOwner unless set (options or the
// deployment's EnvPOAMOwner), and is the metadata's remediation owner, every
// item's owner prop and every milestone's responsible party.
func TestPOAMOwner(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvPOAMOwner {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name string
		opts POAMOptions
		want string
	}{
		{"default", POAMOptions{}, DefaultOwner},
		{"blank is default", POAMOptions{Owner: "  "}, DefaultOwner},
		{"set", POAMOptions{Owner: " Platform  team "}, "Platform team"},
		{"from the environment", POAMOptionsFromEnv(env("secops@example.com")), "secops@example.com"},
		{"environment unset", POAMOptionsFromEnv(env("")), DefaultOwner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parsePOAM(t, fixture(), tc.opts)
			parties := *p.Metadata.Parties
			if len(parties) != 1 || parties[0].Name != tc.want {
				t.Fatalf("parties %+v, want one named %q", parties, tc.want)
			}
			party := parties[0].UUID
			rp := *p.Metadata.ResponsibleParties
			if len(rp) != 1 || rp[0].RoleId != RemediationOwnerRole || !slices.Equal(rp[0].PartyUuids, []string{party}) {
				t.Errorf("responsible parties %+v, want %s → %s", rp, RemediationOwnerRole, party)
			}
			for _, it := range p.PoamItems {
				if got := prop(it.Props, "owner"); got != tc.want {
					t.Errorf("%s: owner %q, want %q", it.Title, got, tc.want)
				}
			}
			for _, r := range *p.Risks {
				task := (*(*r.Remediations)[0].Tasks)[0]
				roles := *task.ResponsibleRoles
				if len(roles) != 1 || roles[0].RoleId != RemediationOwnerRole || !slices.Equal(*roles[0].PartyUuids, []string{party}) {
					t.Errorf("%s: milestone responsible roles %+v, want the owner", r.Title, roles)
				}
			}
		})
	}
}
