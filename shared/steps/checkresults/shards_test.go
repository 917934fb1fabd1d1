package checkresults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The account the sharded tests' ARNs name, whatever moto account a test
// runs in, so that two environments hold the same asset and result ids.
const shardAccount = "123456789012"

// testShard is one shard of a test scan: its plan entry, its findings and
// how its task ended.
type testShard struct {
	id      string
	regions []string
	units   []citadel.ShardUnit
	elems   []string // the OCSF file's elements; nil with empty: no file
	empty   bool     // the task found nothing and wrote no file
	// taskError is the Map's outcome error ("": the task succeeded).
	taskError, taskCause string
	noManifest           bool
	exitCode             int
	seconds              float64
	// checks are the shard's planned checks (default: the file's).
	checks []string
}

// assetAt is an asset to seed: its ARN and its inventoried region.
type assetAt struct{ arn, region string }

// seedAt seeds the catalog's checks and active assets with their regions.
func (e *env) seedAt(checks []string, assets []assetAt) {
	e.t.Helper()
	ctx := context.Background()
	var cs []citadel.SecurityCheck
	for _, c := range checks {
		cs = append(cs, citadel.SecurityCheck{ID: c, Title: c, Service: strings.Split(c, "_")[0], Severity: citadel.SeverityHigh})
	}
	if err := e.store.PutChecks(ctx, cs); err != nil {
		e.t.Fatal(err)
	}
	var as []citadel.Asset
	for _, a := range assets {
		as = append(as, citadel.Asset{ID: citadel.AssetID(integ, citadel.SourceAWS, a.arn), IntegrationID: integ, Source: citadel.SourceAWS,
			SourceID: a.arn, ServiceType: "AWS::EC2::Volume", Name: a.arn, Region: a.region, IsActive: true, FirstSeen: now, LastSeen: now})
	}
	if err := e.store.PutAssets(ctx, as); err != nil {
		e.t.Fatal(err)
	}
}

// shardPlan is the plan of a sharded scan of shardAccount.
func (e *env) shardPlan(scan string) citadel.PlanOutput {
	p := e.plan(scan)
	p.AccountID = shardAccount
	return p
}

// doc is an OCSF file of elements, as Prowler writes one.
func doc(elems []string) []byte {
	return []byte("[\n" + strings.Join(elems, ",\n") + "\n]\n")
}

// putShards writes a sharded scan's objects (the shard plan, each shard's
// OCSF file and manifest) and returns the step's input.
func (e *env) putShards(scan string, shards []testShard) citadel.CheckResultsInput {
	e.t.Helper()
	in := citadel.CheckResultsInput{Plan: e.shardPlan(scan)}
	sp := citadel.ShardPlan{ScanID: scan}
	for _, s := range shards {
		prefix := citadel.ShardPrefix(scan, s.id)
		sh := citadel.Shard{ID: s.id, Regions: s.regions, RegionsArg: strings.Join(s.regions, " "), Units: s.units,
			ChecksKey: prefix + citadel.ChecksFileName, OCSFKey: prefix + citadel.OCSFFileName, ManifestKey: prefix + citadel.ManifestName}
		m := citadel.ProwlerManifest{Version: citadel.ManifestVersion, ScanID: scan, ExitCode: s.exitCode, DurationSeconds: s.seconds,
			OCSFKey: sh.OCSFKey, Empty: s.empty}
		checks := s.checks
		if !s.empty {
			body := doc(s.elems)
			st, err := ocsf.Count(bytes.NewReader(body))
			if err != nil {
				e.t.Fatal(err)
			}
			m.FindingCount, m.MalformedFindings, m.FileSize, m.ChecksExecuted = st.Findings, st.Malformed, st.Size, st.Checks
			if checks == nil {
				checks = st.Checks
			}
			e.put(sh.OCSFKey, body)
		}
		m.ChecksRequested = len(checks)
		if !s.noManifest {
			b, _ := json.Marshal(m)
			e.put(sh.ManifestKey, b)
		}
		sh.Checks = len(checks)
		in.Plan.Shards = append(in.Plan.Shards, sh)
		sp.Shards = append(sp.Shards, citadel.PlannedShard{Shard: sh, CheckIDs: checks})
		in.Prowler = append(in.Prowler, citadel.ShardOutcome{ShardID: s.id, Error: s.taskError, Cause: s.taskCause})
	}
	in.Plan.ShardsKey = citadel.ScanObjectKey(scan, citadel.ShardsFileName)
	b, _ := json.Marshal(sp)
	e.put(in.Plan.ShardsKey, b)
	return in
}

// tables is what a scan leaves in the store, to compare two layouts of the
// same findings: the current results, their history, the scans' digests,
// the events of each scan and the step's outputs.
type tables struct {
	Outputs []citadel.CheckResultsOutput
	Events  [][]string
	Results []citadel.CheckResult
	History map[string][]citadel.CheckResultHistory
	Digests map[string][]ddb.ScanResult
}

func (e *env) tables(scans []string, outs []citadel.CheckResultsOutput, events [][]string) tables {
	e.t.Helper()
	ctx := context.Background()
	tb := tables{Outputs: outs, Events: events, History: map[string][]citadel.CheckResultHistory{}, Digests: map[string][]ddb.ScanResult{}}
	for i := range tb.Outputs {
		tb.Outputs[i].Usage = citadel.Usage{}
	}
	page, err := e.store.ListResults(ctx, integ, 1000, "")
	if err != nil {
		e.t.Fatal(err)
	}
	tb.Results = page.Items
	for _, r := range page.Items {
		id := citadel.ResultID(integ, r.CheckID, r.AssetID)
		if tb.History[id], err = e.store.ResultHistory(ctx, id); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, scan := range scans {
		var rs []ddb.ScanResult
		if err := e.store.ResultsOfScan(ctx, scan, func(r ddb.ScanResult) error { rs = append(rs, r); return nil }); err != nil {
			e.t.Fatal(err)
		}
		tb.Digests[scan] = rs
	}
	return tb
}

// eventIDs are the events the step sent since the last call, as
// "<id> <previous>→<status>".
func (e *env) eventIDs() []string {
	var out []string
	for _, ev := range e.events() {
		out = append(out, fmt.Sprintf("%s %s %s→%s", ev.ID, ev.SecurityCheck, ev.PreviousStatus, ev.Status))
	}
	return out
}

// corpus is the findings of the layouts test: Prowler's real example output
// (its placeholders filled for shardAccount), then generated findings in two
// regions, one malformed and one duplicate of an earlier finding with a
// worse status. drift changes some statuses and mutes one.
func corpus(t *testing.T, drift bool) (elems, checks []string, assets []assetAt) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	analyzer := "arn:aws:accessanalyzer:us-east-1:" + shardAccount + ":analyzer/unknown"
	filled := strings.NewReplacer("<account_uid>", shardAccount, "<resource_uid>", analyzer, "<region>", "us-east-1").Replace(string(raw))
	var real []json.RawMessage
	if err := json.Unmarshal([]byte(filled), &real); err != nil {
		t.Fatal(err)
	}
	for _, f := range real {
		elems = append(elems, string(f))
	}
	checks = []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
		"account_maintain_different_contact_details_to_security_billing_and_operations",
		"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"}
	checks = append(checks, ocsftest.Checks...)
	assets = []assetAt{{analyzer, "us-east-1"}, {"arn:aws:iam::" + shardAccount + ":root", "global"}}
	regions := []string{"us-east-1", "eu-west-1"}
	spec := func(i int) ocsftest.Spec {
		region := regions[i%2]
		s := ocsftest.Spec{Check: ocsftest.Checks[i%len(ocsftest.Checks)], StatusCode: "PASS", Region: region,
			UIDs: []string{fmt.Sprintf("arn:aws:ec2:%s:%s:volume/vol-%03d", region, shardAccount, i/len(ocsftest.Checks))}}
		switch i % 10 {
		case 3:
			s.StatusCode = "FAIL"
		case 7:
			s.StatusCode = "MANUAL"
		}
		if drift && i%8 == 0 {
			s.StatusCode = map[string]string{"PASS": "FAIL", "FAIL": "PASS", "MANUAL": "PASS"}[s.StatusCode]
		}
		if drift && i == 13 {
			s.Status = "Suppressed"
		}
		return s
	}
	seen := map[string]bool{}
	for i := 0; i < 40; i++ {
		s := spec(i)
		b, _ := json.Marshal(ocsftest.Finding(s))
		elems = append(elems, string(b))
		if !seen[s.UIDs[0]] {
			seen[s.UIDs[0]] = true
			assets = append(assets, assetAt{s.UIDs[0], s.Region})
		}
	}
	elems = append(elems, `{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":5,"resources":[{"uid":"u"}]}`)
	dup := spec(10)
	dup.StatusCode = "FAIL"
	b, _ := json.Marshal(ocsftest.Finding(dup))
	elems = append(elems, string(b))
	return elems, checks, assets
}

// split cuts elems into shards of the given sizes (a size of -1 is an
// empty shard that wrote no file).
func split(elems []string, sizes []int) []testShard {
	var out []testShard
	for i, n := range sizes {
		s := testShard{id: fmt.Sprintf("s%02d", i+1), regions: []string{"us-east-1", "eu-west-1"},
			units:   []citadel.ShardUnit{{Region: "us-east-1", Group: fmt.Sprintf("g%d", i+1)}, {Region: "eu-west-1", Group: fmt.Sprintf("g%d", i+1)}},
			seconds: 10}
		if n < 0 {
			s.empty, s.checks = true, []string{}
		} else {
			s.elems, elems = elems[:n], elems[n:]
		}
		out = append(out, s)
	}
	if len(elems) != 0 {
		panic("split: sizes do not cover the findings")
	}
	return out
}

// TestShardsReadAsOneFile: the same findings cut into N shard files, or in
// one file of a plan without shards, leave identical tables: results,
// history, digests, events and counts, on a first scan and a rescan with
// drift; the problems report names the shard of each problem.
func TestShardsReadAsOneFile(t *testing.T) {
	ctx := context.Background()
	first, checks, assets := corpus(t, false)
	second, _, _ := corpus(t, true)
	scans := []string{"scan-01", "scan-02"}

	// The reference: one file, a plan without shards.
	ref := newEnv(t)
	ref.seedAt(checks, assets)
	var outs []citadel.CheckResultsOutput
	var evs [][]string
	for i, elems := range [][]string{first, second} {
		body := doc(elems)
		st, err := ocsf.Count(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		ref.putScan(scans[i], body, &citadel.ProwlerManifest{Version: citadel.ManifestVersion, ScanID: scans[i], FileSize: st.Size,
			FindingCount: st.Findings, MalformedFindings: st.Malformed, ChecksExecuted: st.Checks})
		out, err := ref.handler().Handle(ctx, citadel.CheckResultsInput{Plan: ref.shardPlan(scans[i])})
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
		evs = append(evs, ref.eventIDs())
	}
	want := ref.tables(scans, outs, evs)
	if len(want.Results) != 45 || want.Outputs[1].HistoryEntriesCreated == 0 || len(want.Events[1]) == 0 || want.Outputs[1].DuplicateFindings != 1 {
		t.Fatalf("the reference proves too little: %d results, outputs %+v, events %v", len(want.Results), want.Outputs, want.Events)
	}

	for _, sizes := range [][]int{
		{len(first)},
		{5, len(first) - 5},
		{1, 20, -1, len(first) - 21},
		{10, 10, 10, 10, len(first) - 40},
	} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			e := newEnv(t)
			e.seedAt(checks, assets)
			var outs []citadel.CheckResultsOutput
			var evs [][]string
			for i, elems := range [][]string{first, second} {
				in := e.putShards(scans[i], split(elems, sizes))
				out, err := e.handler().Handle(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, out)
				evs = append(evs, e.eventIDs())
			}
			if d := cmp.Diff(want, e.tables(scans, outs, evs)); d != "" {
				t.Errorf("shards %v against one file (-one +shards):\n%s", sizes, d)
			}
			// Each problem names its shard and its place in that shard's file.
			var got []string
			for _, p := range e.problems("scan-01") {
				got = append(got, fmt.Sprintf("%s#%d %s", p.Shard, p.Index, p.Kind))
			}
			var wantProblems []string
			at := 0
			for k, n := range sizes {
				for _, g := range []int{len(first) - 2, len(first) - 1} { // the malformed finding, the duplicate
					if n > 0 && g >= at && g < at+n {
						kind := "wrong_type"
						if g == len(first)-1 {
							kind = "duplicate"
						}
						wantProblems = append(wantProblems, fmt.Sprintf("s%02d#%d %s", k+1, g-at, kind))
					}
				}
				at += max(n, 0)
			}
			if d := cmp.Diff(wantProblems, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}
