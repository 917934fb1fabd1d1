package checkresults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
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
	taskStop             *citadel.ShardTaskStop
	noManifest           bool
	exitCode             int
	seconds              float64
	// checks are the shard's planned checks (default: the file's).
	checks []string
	// executed are the manifest's checks_executed (default: the file's).
	executed []string
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
			if s.executed != nil {
				m.ChecksExecuted = s.executed
			}
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
		in.Prowler = append(in.Prowler, citadel.ShardOutcome{ShardID: s.id, Error: s.taskError, Cause: s.taskCause, Task: s.taskStop})
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

// finding is one OCSF finding of a check on a resource, as a file element.
func finding(check, status, region, uid string) string {
	b, _ := json.Marshal(ocsftest.Finding(ocsftest.Spec{Check: check, StatusCode: status, Region: region, UIDs: []string{uid}}))
	return string(b)
}

// The estate of the failed-shard tests: volumes and buckets in two regions,
// a bucket the inventory gave no region, an IAM user.
var (
	ebs, s3enc, mfa, imds = "ec2_ebs_volume_encryption", "s3_bucket_default_encryption", "iam_user_mfa_enabled", "ec2_instance_imdsv2_enabled"
	volA, volB            = "arn:aws:ec2:us-east-1:" + shardAccount + ":volume/vol-a", "arn:aws:ec2:us-east-1:" + shardAccount + ":volume/vol-b"
	volC, volD, volE      = "arn:aws:ec2:eu-west-1:" + shardAccount + ":volume/vol-c", "arn:aws:ec2:eu-west-1:" + shardAccount + ":volume/vol-d", "arn:aws:ec2:eu-west-1:" + shardAccount + ":volume/vol-e"
	bucketX, bucketY      = "arn:aws:s3:::bucket-x", "arn:aws:s3:::bucket-y"
	bucketZ               = "arn:aws:s3:::bucket-z"
	user1                 = "arn:aws:iam::" + shardAccount + ":user/user-1"
)

// estateShards are the three shards of the estate's scans: us-east-1 and
// eu-west-1 for EC2 and S3 (two EC2 checks, one S3), and IAM's global unit.
func estateShards(east, west, global []string, seconds [3]float64) []testShard {
	regional := func(id, region string, elems []string, secs float64) testShard {
		return testShard{id: id, regions: []string{region}, elems: elems, seconds: secs, checks: []string{ebs, imds, s3enc},
			units: []citadel.ShardUnit{{Region: region, Group: "ec2"}, {Region: region, Group: "s3"}}}
	}
	return []testShard{
		regional("s01", "us-east-1", east, seconds[0]),
		regional("s02", "eu-west-1", west, seconds[1]),
		{id: "s03", regions: []string{"us-east-1"}, elems: global, seconds: seconds[2], checks: []string{mfa},
			units: []citadel.ShardUnit{{Region: citadel.ShardGlobalRegion, Group: "iam"}}},
	}
}

func (e *env) digestOf(scan string) map[string]ddb.ScanResult {
	e.t.Helper()
	out := map[string]ddb.ScanResult{}
	if err := e.store.ResultsOfScan(context.Background(), scan, func(r ddb.ScanResult) error {
		out[r.CheckID+" "+r.AssetID] = r
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) currentResults() map[string]citadel.CheckResult {
	e.t.Helper()
	page, err := e.store.ListResults(context.Background(), integ, 1000, "")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]citadel.CheckResult{}
	for _, r := range page.Items {
		out[r.CheckID+" "+r.AssetARN] = r
	}
	return out
}

func key(check, arn string) string { return check + " " + arn }

func digestKey(check, arn string) string {
	return check + " " + citadel.AssetID(integ, citadel.SourceAWS, arn)
}

// TestFailedShardKeepsItsResults: a rescan whose eu-west-1 shard failed
// (the Map's outcome, no manifest, an exit code of a Prowler that did not
// finish) changes the results the other shards read and nothing of the
// failed shard's checks in its region: no result rewritten or resolved, no
// history, no event; their previous digest entries are carried into the
// scan's digest as they were (a region-less bucket's too, an asset gone
// since not), so the next scan compares against them. The durations of the
// shards that ran are recorded per unit, the failed shard's units keep
// theirs. A retry of a run that could not commit does exactly the same.
func TestFailedShardKeepsItsResults(t *testing.T) {
	ctx := context.Background()
	scan1East := []string{finding(ebs, "FAIL", "us-east-1", volA), finding(ebs, "PASS", "us-east-1", volB), finding(s3enc, "PASS", "us-east-1", bucketY)}
	scan1West := []string{finding(ebs, "FAIL", "eu-west-1", volC), finding(ebs, "PASS", "eu-west-1", volD), finding(ebs, "FAIL", "eu-west-1", volE),
		finding(s3enc, "FAIL", "eu-west-1", bucketX), finding(s3enc, "FAIL", "eu-west-1", bucketZ)}
	iam := []string{finding(mfa, "FAIL", "us-east-1", user1)}
	// What the failed shard's file says in the rescan, never read.
	scan2West := []string{finding(ebs, "PASS", "eu-west-1", volC), finding(ebs, "FAIL", "eu-west-1", volD)}
	scan2East := []string{finding(ebs, "PASS", "us-east-1", volA), finding(ebs, "FAIL", "us-east-1", volB), finding(s3enc, "PASS", "us-east-1", bucketY)}
	for _, tc := range []struct {
		name   string
		fail   func(*testShard)
		reason string
	}{
		{"the task failed", func(s *testShard) {
			s.taskError = "States.TaskFailed"
			s.taskCause = `{"Containers":[{"Name":"prowler","ExitCode":1}],"StoppedReason":"Essential container in task exited"}`
		}, "the Prowler task failed: the Prowler task exited 1: Essential container in task exited"},
		{"the task stopped, as the Map keeps it", func(s *testShard) {
			s.taskError = "States.TaskFailed"
			s.taskStop = &citadel.ShardTaskStop{StoppedReason: "Essential container in task exited", ExitCodes: []int{137}}
		}, "the Prowler task failed: the Prowler task exited 137: Essential container in task exited"},
		{"the task never ran", func(s *testShard) {
			s.taskError = "States.TaskFailed"
			s.taskStop = &citadel.ShardTaskStop{StoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)"}
		}, "the Prowler task failed: CannotPullContainerError: pull image manifest has been retried 5 time(s)"},
		{"no manifest", func(s *testShard) { s.noManifest = true }, "the Prowler task wrote no manifest"},
		{"Prowler did not finish", func(s *testShard) { s.exitCode = 1 }, "Prowler exited 1 before it finished"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.seedAt([]string{ebs, s3enc, mfa, imds}, []assetAt{{volA, "us-east-1"}, {volB, "us-east-1"}, {volC, "eu-west-1"}, {volD, "eu-west-1"},
				{volE, "eu-west-1"}, {bucketX, "eu-west-1"}, {bucketY, "us-east-1"}, {bucketZ, ""}, {user1, "global"}})
			h := e.handler()

			out1, err := h.Handle(ctx, e.putShards("scan-01", estateShards(scan1East, scan1West, iam, [3]float64{90, 60, 20})))
			if err != nil {
				t.Fatal(err)
			}
			if out1.ResultsCreated != 9 || out1.ShardsFailedCount != 0 {
				t.Fatalf("first scan: %+v", out1)
			}
			e.events()
			before, digest1 := e.currentResults(), e.digestOf("scan-01")
			if _, err := e.store.DeactivateAssets(ctx, integ, []ddb.Deactivation{{ARN: volE, LastSeen: now}}); err != nil {
				t.Fatal(err)
			}

			shards := estateShards(scan2East, scan2West, iam, [3]float64{30, 45, 10})
			tc.fail(&shards[1])
			in2 := e.putShards("scan-02", shards)
			// A run that cannot commit, then its retry: the retry decides,
			// carries and counts as one clean run would.
			broken := e.handler()
			broken.Store = failingCommit{e.store}
			if _, err := broken.Handle(ctx, in2); !citadel.IsRetryable(err) {
				t.Fatalf("broken run: %v", err)
			}
			e.events()
			out2, err := h.Handle(ctx, in2)
			if err != nil {
				t.Fatal(err)
			}
			want := citadel.CheckResultsOutput{ResultsUpdated: 2, ResultsUnchanged: 2, ChecksExecuted: 3, ChecksPassed: 2, ChecksFailed: 2,
				SnapshotsCaptured: 4, HistoryEntriesCreated: 2, RegressionEvents: 1, ResultsCarried: 4, ShardsFailedCount: 1,
				ShardsFailed: []citadel.ShardFailure{{ShardID: "s02", Regions: []string{"eu-west-1"}, Checks: 3, Reason: tc.reason,
					Units: []citadel.ShardUnit{{Region: "eu-west-1", Group: "ec2"}, {Region: "eu-west-1", Group: "s3"}}}}}
			if d := cmp.Diff(want, out2, ignoreUsage); d != "" {
				t.Errorf("rescan with a failed shard (-want +got):\n%s", d)
			}
			// Durations: each shard's seconds shared by checks (two EC2, one
			// S3); the failed shard recorded nothing.
			times, err := e.store.ShardDurations(ctx, integ)
			if err != nil {
				t.Fatal(err)
			}
			wantTimes := citadel.ShardDurations{"us-east-1/ec2": 20, "us-east-1/s3": 10, "eu-west-1/ec2": 40, "eu-west-1/s3": 20, "global/iam": 10}
			if d := cmp.Diff(wantTimes, times); d != "" {
				t.Errorf("durations after scan-02 (-want +got):\n%s", d)
			}

			// Exactly the other shards' drift changed.
			after := e.currentResults()
			for k, r := range after {
				changed := k == key(ebs, volA) || k == key(ebs, volB)
				if was := before[k]; changed != (r.ScanID == "scan-02") || !changed && !cmp.Equal(was, r) {
					t.Errorf("%s: changed %t, want %t (-before +after):\n%s", k, r.ScanID == "scan-02", changed, cmp.Diff(was, r))
				}
			}
			if len(after) != len(before) {
				t.Errorf("%d results after, %d before", len(after), len(before))
			}
			for k, n := range map[string]int{key(ebs, volA): 2, key(ebs, volB): 2, key(ebs, volC): 1, key(ebs, volD): 1, key(s3enc, bucketX): 1, key(s3enc, bucketZ): 1} {
				r := after[k]
				if hist, err := e.store.ResultHistory(ctx, citadel.ResultID(integ, r.CheckID, r.AssetID)); err != nil || len(hist) != n {
					t.Errorf("%s: %d history entries, %v; want %d", k, len(hist), err, n)
				}
			}
			evs := e.events() // the retry's, sent again with the same id
			if len(evs) != 1 || evs[0].AssetARN != volB || evs[0].PreviousStatus != citadel.StatusPass || evs[0].Status != citadel.StatusFail {
				t.Errorf("events: %+v, want vol-b's regression alone", evs)
			}

			// The digest: the read shards' results, and the failed shard's
			// previous entries as they were (vol-e, gone, is not carried).
			digest2 := e.digestOf("scan-02")
			wantDigest := map[string]ddb.ScanResult{}
			for _, k := range []string{digestKey(ebs, volC), digestKey(ebs, volD), digestKey(s3enc, bucketX), digestKey(s3enc, bucketZ),
				digestKey(s3enc, bucketY), digestKey(mfa, user1)} {
				wantDigest[k] = digest1[k]
			}
			for _, arn := range []string{volA, volB} {
				k := digestKey(ebs, arn)
				r := after[key(ebs, arn)]
				wantDigest[k] = ddb.ScanResult{CheckID: ebs, AssetID: r.AssetID, ResultID: citadel.ResultID(integ, ebs, r.AssetID), Status: r.Status, ContentHash: r.ContentHash}
			}
			if d := cmp.Diff(wantDigest, digest2); d != "" {
				t.Errorf("digest of scan-02 (-want +got):\n%s", d)
			}

			// The next scan, every shard read, compares against the carried entries.
			fixed := []string{finding(ebs, "PASS", "eu-west-1", volC), finding(ebs, "PASS", "eu-west-1", volD),
				finding(s3enc, "FAIL", "eu-west-1", bucketX), finding(s3enc, "FAIL", "eu-west-1", bucketZ)}
			out3, err := h.Handle(ctx, e.putShards("scan-03", estateShards(scan2East, fixed, iam, [3]float64{30, 45, 10})))
			if err != nil {
				t.Fatal(err)
			}
			want3 := citadel.CheckResultsOutput{ResultsUpdated: 1, ResultsUnchanged: 7, ChecksExecuted: 3, ChecksPassed: 4, ChecksFailed: 4,
				SnapshotsCaptured: 8, HistoryEntriesCreated: 1}
			if d := cmp.Diff(want3, out3, ignoreUsage); d != "" {
				t.Errorf("the scan after (-want +got):\n%s", d)
			}
			if evs := e.events(); len(evs) != 0 {
				t.Errorf("the scan after sent %+v", evs)
			}

			// Durations: the failed shard's units kept scan-01's figures until scan-03.
			if times, err = e.store.ShardDurations(ctx, integ); err != nil {
				t.Fatal(err)
			}
			wantTimes["eu-west-1/ec2"], wantTimes["eu-west-1/s3"] = 30, 15
			if d := cmp.Diff(wantTimes, times); d != "" {
				t.Errorf("durations after scan-03 (-want +got):\n%s", d)
			}
		})
	}
}

// TestShardErrors: every shard failed fails the step (non-retryable, naming
// them) rather than record an empty scan; a bad file, a missing file or a
// shard plan that is not the plan's fails it as a single file does, naming
// the shard; nothing is committed.
func TestShardErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.seedAt([]string{ebs, s3enc, mfa, imds}, []assetAt{{volA, "us-east-1"}, {volC, "eu-west-1"}, {user1, "global"}})
	good := func() []testShard {
		return estateShards([]string{finding(ebs, "PASS", "us-east-1", volA)}, []string{finding(ebs, "FAIL", "eu-west-1", volC)},
			[]string{finding(mfa, "FAIL", "us-east-1", user1)}, [3]float64{1, 1, 1})
	}
	prefix := func(scan, shard string) string { return "s3://" + e.bucket + "/" + citadel.ShardPrefix(scan, shard) }
	for i, tc := range []struct {
		name  string
		setup func(scan string, shards []testShard) citadel.CheckResultsInput
		want  string
	}{
		{"every shard failed", func(scan string, shards []testShard) citadel.CheckResultsInput {
			for k := range shards {
				shards[k].taskError = "States.Timeout"
			}
			shards[2].taskError, shards[2].noManifest = "", true
			return e.putShards(scan, shards)
		}, "check-results: every shard of scan %[1]s failed (3), nothing was scanned: " +
			"shard s01 (3 checks in us-east-1): the Prowler task failed: the step ran past its timeout; " +
			"shard s02 (3 checks in eu-west-1): the Prowler task failed: the step ran past its timeout; " +
			"shard s03 (1 checks in us-east-1): the Prowler task wrote no manifest"},
		{"a file that does not match its manifest", func(scan string, shards []testShard) citadel.CheckResultsInput {
			in := e.putShards(scan, shards)
			e.put(in.Plan.Shards[1].OCSFKey, doc(append(shards[1].elems, finding(ebs, "PASS", "eu-west-1", volC))))
			return in
		}, "shard s02: the OCSF file %[2]sprowler.ocsf.json does not match its manifest %[2]smanifest.json: read 2 findings, the manifest says 1; " +
			"the file is %[3]d bytes, the manifest says %[4]d"},
		{"an unreadable file", func(scan string, shards []testShard) citadel.CheckResultsInput {
			in := e.putShards(scan, shards)
			e.put(in.Plan.Shards[1].OCSFKey, []byte("<Error/>"))
			return in
		}, "shard s02: the OCSF file %[2]sprowler.ocsf.json is not a JSON array of findings: it is not JSON (at byte 0)"},
		{"a shard plan of another scan", func(scan string, shards []testShard) citadel.CheckResultsInput {
			in := e.putShards(scan, shards)
			b, _ := json.Marshal(citadel.ShardPlan{ScanID: "scan-other"})
			e.put(in.Plan.ShardsKey, b)
			return in
		}, `check-results: the shard plan s3://%[5]s/scans/%[1]s/shards.json is scan "scan-other"'s, not %[1]s's`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scan := fmt.Sprintf("scan-err-%02d", i)
			shards := good()
			in := tc.setup(scan, shards)
			one := len(doc(shards[1].elems))
			two := len(doc(append(shards[1].elems, finding(ebs, "PASS", "eu-west-1", volC))))
			_, err := e.handler().Handle(ctx, in)
			if err == nil || citadel.IsRetryable(err) || !citadel.IsInvalid(err) {
				t.Fatalf("error %v (%T): want invalid, not retryable", err, err)
			}
			want := fmt.Sprintf(tc.want, scan, prefix(scan, "s02"), two, one, e.bucket)
			if d := cmp.Diff(want, err.Error()); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			e.noScanWritten(scan)
		})
	}
}

// TestShardedRunResumes: a run short of time stops after a segment, its
// progress a scan-wide finding index; the retries resume in the right file
// and together write, count and send what one run would.
func TestShardedRunResumes(t *testing.T) {
	e := newEnv(t)
	const n = 300
	spec := ocsftest.Standard(shardAccount)
	var elems []string
	var assets []assetAt
	for i := 0; i < n; i++ {
		b, _ := json.Marshal(ocsftest.Finding(spec(i)))
		elems = append(elems, string(b))
		if i%len(ocsftest.Checks) == 0 {
			assets = append(assets, assetAt{spec(i).UIDs[0], "us-east-1"})
		}
	}
	e.seedAt(ocsftest.Checks, assets)
	in := e.putShards("scan-01", split(elems, []int{70, 0, 100, 130}))
	h := e.handler()
	h.SegmentResults = 64
	h.Margin = 2 * time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var out citadel.CheckResultsOutput
	var err error
	calls := 0
	for calls = 1; calls <= 10; calls++ {
		if out, err = h.Handle(ctx, in); err == nil {
			break
		}
		if !errors.Is(err, checkresults.ErrOutOfTime) || !citadel.IsRetryable(err) {
			t.Fatalf("call %d: %v, want a retryable ErrOutOfTime", calls, err)
		}
	}
	if calls != 5 {
		t.Errorf("finished in %d calls, want 5", calls)
	}
	want := citadel.CheckResultsOutput{ResultsCreated: n, ChecksExecuted: 5, ChecksPassed: 240, ChecksFailed: 30, ChecksNotApplicable: 30,
		SnapshotsCaptured: n, HistoryEntriesCreated: n, RegressionEvents: 30}
	if d := cmp.Diff(want, out, ignoreUsage); d != "" {
		t.Errorf("resumed run (-want +got):\n%s", d)
	}
	ids := map[string]bool{}
	evs := e.events()
	for _, ev := range evs {
		ids[ev.ID] = true
	}
	if len(evs) != 30 || len(ids) != 30 {
		t.Errorf("%d events, %d distinct; want 30 sent once each", len(evs), len(ids))
	}
	if page, err := e.store.ListResults(context.Background(), integ, 1000, ""); err != nil || len(page.Items) != n {
		t.Errorf("%d results stored, %v", len(page.Items), err)
	}
}
