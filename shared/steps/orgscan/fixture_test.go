package orgscan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/orgscan"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return t0 }

// Accounts of the test organization.
const (
	management = "100000000001"
	prod       = "100000000002"
	dev        = "100000000003"
	orgID      = "int-org"
	orgScanID  = "scan-org-1"
	folder     = "f1"
)

// fixture is a table with an organization integration and its members, a
// scan state machine on moto's Step Functions (executions stay RUNNING
// until stopped), and the organization scan recorded queued, as the API
// leaves it, or running with its execution's ARN, as org-plan does.
type fixture struct {
	store   *ddb.Store
	sfn     *sfn.Client
	smARN   string
	org     citadel.Integration
	members map[string]citadel.Integration // by account
	orgScan citadel.Scan
	locks   *scanend.Locks
}

func newFixture(t *testing.T, running bool) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{store: testenv.Store(t, ddb.WithClock(clock)), members: map[string]citadel.Integration{}}
	acct, accountID, _ := testenv.Account(t, testenv.Config(t))
	f.sfn = sfn.NewFromConfig(acct)
	sm, err := f.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-scan")),
		Definition: aws.String(`{"StartAt":"plan","States":{"plan":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", accountID)),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.smARN = aws.ToString(sm.StateMachineArn)
	f.locks = &scanend.Locks{Store: f.store, Executions: f.sfn, StateMachineARN: f.smARN, Clock: clock}

	f.org = citadel.Integration{ID: orgID, FolderID: folder, Name: "Acme", AccountID: management, Kind: citadel.KindOrganization,
		RoleARN: "arn:aws:iam::" + management + ":role/CitadelScanner", ExternalID: "citadel-test", Regions: []string{"us-east-1"},
		CreatedAt: t0, UpdatedAt: t0}
	if err := f.store.CreateIntegration(ctx, f.org); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{prod, dev} {
		m := f.org.Member(a, "acct "+a, t0)
		if err := f.store.CreateIntegration(ctx, m); err != nil {
			t.Fatal(err)
		}
		f.members[a] = m
	}
	f.orgScan = citadel.Scan{ID: orgScanID, IntegrationID: orgID, FolderID: folder, Trigger: citadel.TriggerAPI, Kind: citadel.KindOrganization,
		Status: citadel.ScanQueued, CreatedAt: t0}
	if err := f.store.StartScan(ctx, f.orgScan); err != nil {
		t.Fatal(err)
	}
	if !running {
		return f
	}
	if f.orgScan, err = f.store.MarkScanRunning(ctx, orgID, orgScanID, "arn:aws:states:us-east-1:"+accountID+":execution:org:"+orgScanID); err != nil {
		t.Fatal(err)
	}
	return f
}

// starter is org-member under the step contract, as its Lambda runs it.
func (f *fixture) starter() stepfn.Step[citadel.OrgMemberInput, citadel.OrgMemberResult] {
	h := &orgscan.Starter{Store: f.store, Locks: f.locks, Env: stepfn.Env{Clock: clock}}
	return stepfn.New(citadel.StepOrgMember, h.Handle, h.Env, f.store)
}

// summarizer is org-summary under the step contract.
func (f *fixture) summarizer() stepfn.Step[citadel.OrgSummaryInput, citadel.OrgSummaryOutput] {
	h := &orgscan.Summarizer{Store: f.store, Executions: f.sfn, StateMachineARN: f.smARN, Env: stepfn.Env{Clock: clock}}
	return stepfn.New(citadel.StepOrgSummary, h.Handle, h.Env, f.store)
}

// item is the Map's input for the member of account (the organization
// itself for its management account).
func (f *fixture) item(account string) citadel.OrgMemberInput {
	id := orgID
	if m, ok := f.members[account]; ok {
		id = m.ID
	}
	return citadel.OrgMemberInput{IntegrationID: id, OrgScanID: orgScanID, OrgIntegrationID: orgID}
}

// execute starts the child execution of a started member as the Map's
// startExecution.sync:2 does (named by the scan id); it stays RUNNING.
func (f *fixture) execute(t *testing.T, res citadel.OrgMemberResult) string {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"scan": res.Scan})
	out, err := f.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(f.smARN),
		Name: aws.String(res.ScanID), Input: aws.String(string(in))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

// finish ends a member scan as its finalize would.
func (f *fixture) finish(t *testing.T, integrationID, scanID string, status citadel.ScanStatus, cause string, sum citadel.ScanSummary) {
	t.Helper()
	ctx := context.Background()
	sc, err := f.store.GetScanOf(ctx, integrationID, scanID)
	if err != nil {
		t.Fatal(err)
	}
	sc.Status, sc.FailureCause, sc.FinishedAt, sc.Summary = status, cause, t0.Add(time.Minute), &sum
	if _, err := f.store.FinishScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
}
