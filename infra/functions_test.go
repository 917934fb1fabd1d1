package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestFunctions(t *testing.T) {
	s := defaultApp(t)
	fns := s.resources("AWS::Lambda::Function")
	// Ours, the AwsCustomResource provider that starts the catalog load,
	// and the CDK's function that deploys the console's files.
	if len(fns) != len(FunctionSpecs)+2 {
		t.Errorf("%d functions, want %d, the catalog load's provider and the console's deployment", len(fns), len(FunctionSpecs))
	}
	table := "<" + s.logicalID(s.stacks.Main.Table) + ">"
	bucket := "<" + s.logicalID(s.stacks.Main.Bucket) + ">"
	for _, spec := range FunctionSpecs {
		t.Run(spec.Name, func(t *testing.T) {
			id := s.logicalID(s.stacks.Main.Functions.ByName[spec.Name])
			p := s.props(t, id)
			got := map[string]any{
				"Runtime": p["Runtime"], "Architectures": p["Architectures"], "Handler": p["Handler"],
				"MemorySize": p["MemorySize"], "Timeout": p["Timeout"],
				"LogFormat": p["LoggingConfig"].(map[string]any)["LogFormat"],
			}
			want := map[string]any{
				"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
				"MemorySize": float64(spec.MemoryMB), "Timeout": spec.Timeout.Seconds(), "LogFormat": "JSON",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("function (-want +got):\n%s", diff)
			}
			if _, ok := p["LoggingConfig"].(map[string]any)["LogGroup"]; !ok {
				t.Error("no log group of its own")
			}
			// The code is <codeDir>/<name>: the staged asset's bootstrap is the
			// placeholder that names the function.
			meta := s.json["Resources"].(map[string]any)[id].(map[string]any)["Metadata"].(map[string]any)
			staged := filepath.Join(s.outDir, meta["aws:asset:path"].(string), "bootstrap")
			b, err := os.ReadFile(staged)
			if err != nil {
				t.Fatalf("staged code: %v", err)
			}
			if string(b) != spec.Name {
				t.Errorf("staged bootstrap holds %q, want %q", b, spec.Name)
			}
			sts := s.statements(roleOf(p, "Role"))
			if slices.Contains(Dataless, spec.Name) {
				// Neither the table's nor the bucket's name, nor a grant.
				if p["Environment"] != nil || len(sts) != 0 {
					t.Errorf("a dataless function with environment %v and statements %v", p["Environment"], sts)
				}
				return
			}
			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if got := render(env[citadel.EnvTable]); got != table {
				t.Errorf("%s = %s, want %s", citadel.EnvTable, got, table)
			}
			if got := render(env[citadel.EnvBucket]); got != bucket {
				t.Errorf("%s = %s, want %s", citadel.EnvBucket, got, bucket)
			}
			// Read-write on the table and its indexes, through the grant.
			tableArn := regexp.QuoteMeta("<" + s.logicalID(s.stacks.Main.Table) + ".Arn>")
			for _, action := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem"} {
				if !grants(sts, action, "^"+tableArn+"$") || !grants(sts, action, "^"+tableArn+`/index/\*$`) {
					t.Errorf("no %s on the table and its indexes", action)
				}
			}
		})
	}
}

// TestFunctionGrants checks what each function may do beyond the table.
func TestFunctionGrants(t *testing.T) {
	s := defaultApp(t)
	bucket := s.logicalID(s.stacks.Main.Bucket)
	scans, catalog := `^<`+bucket+`\.Arn>/scans/\*$`, `^<`+bucket+`\.Arn>/catalog/\*$`
	blobs := `^<` + bucket + `\.Arn>/blobs/\*$`
	scanner := `^arn:<AWS::Partition>:iam::\*:role/CitadelScanner$`
	bus := `^<` + s.logicalID(s.stacks.Main.EventBus) + `\.Arn>$`
	sm := `^<` + s.logicalID(s.stacks.Main.StateMachine) + `>$`
	org := `^<` + s.logicalID(s.stacks.Main.OrgStateMachine) + `>$`
	type grant struct {
		action, resource string
		want             bool
	}
	cases := map[string][]grant{
		FnPlan: {{"s3:PutObject", scans, true}, {"s3:GetObject*", scans, true}, {"s3:DeleteObject*", ".", false},
			{"sts:AssumeRole", ".", false}},
		FnAssetSync: {{"sts:AssumeRole", scanner, true}, {"s3:PutObject", scans, true}, {"s3:GetObject*", scans, true},
			{"s3:PutObject", blobs, false}, {"s3:GetObject*", blobs, false}, {"s3:DeleteObject*", ".", false}},
		FnCheckResults: {{"s3:GetObject*", scans, true}, {"s3:PutObject", scans, true}, {"events:PutEvents", bus, true},
			{"s3:GetObject*", blobs, true}, {"s3:PutObject", blobs, true}},
		FnControls: {{"s3:GetObject*", ".", false}, {"events:PutEvents", ".", false}, {"s3:PutObject", ".", false}},
		FnPolicies: {{"s3:GetObject*", ".", false}},
		FnEvidence: {{"s3:GetObject*", scans, true}, {"s3:PutObject", scans, false},
			{"s3:GetObject*", blobs, true}, {"s3:PutObject", blobs, true}},
		FnFinalize: {{"s3:GetObject*", ".", false}, {"states:StartExecution", ".", false}, {"events:PutEvents", bus, true}},
		FnCatalogImport: {{"s3:GetObject*", catalog, true}, {"s3:GetObject*", scans, false},
			{"s3:PutObject", ".", false}},
		FnReconcile: {{"s3:GetObject*", ".", false}, {"s3:PutObject", ".", false}, {"states:StopExecution", ".", false},
			{"states:StartExecution", ".", false}, {"events:PutEvents", bus, true}, {"dynamodb:PutItem", ".", true},
			{"states:DescribeExecution", ":execution:", true}},
		FnAPI: {{"states:StartExecution", sm, true}, {"states:StopExecution", ":execution:", true}, {"states:DescribeExecution", ":execution:", true},
			{"scheduler:CreateSchedule", `:schedule/`, true}, {"scheduler:UpdateSchedule", `:schedule/`, true},
			{"scheduler:DeleteSchedule", `:schedule/`, true},
			{"iam:PassRole", `^<` + s.logicalID(s.stacks.Main.Scheduler.Role) + `\.Arn>$`, true},
			{"s3:GetObject*", blobs, true}, {"s3:GetObject*", scans, false}, {"s3:PutObject", ".", false},
			{"events:PutEvents", bus, true}, {"states:StartExecution", org, true}},
		FnExcSweep: {{"events:PutEvents", bus, true}, {"dynamodb:UpdateItem", ".", true}, {"s3:GetObject*", scans, false},
			{"s3:GetObject*", blobs, true}, {"s3:PutObject", blobs, true}, // its re-marks' evidence revisions
			{"s3:PutObject", scans, false}, {"states:StartExecution", ".", false}, {"sts:AssumeRole", ".", false}},
		FnRecheck: {{"states:StartExecution", sm, true}, {"states:DescribeExecution", ":execution:", true},
			{"states:StopExecution", ":execution:", true}, {"s3:PutObject", scans, true}, {"s3:PutObject", blobs, false},
			{"events:PutEvents", bus, true}, {"dynamodb:Query", ".", true}, {"sts:AssumeRole", ".", false}},
		FnOrgPlan: {{"states:DescribeExecution", ".", false}, {"sts:AssumeRole", ".", false}, {"events:PutEvents", ".", false},
			{"s3:GetObject*", ".", false}},
		FnOrgSync: {{"sts:AssumeRole", scanner, true}, {"organizations:ListAccounts", `^\*$`, true},
			{"organizations:ListChildren", `^\*$`, true}, {"organizations:CreateAccount", ".", false}, {"states:StartExecution", ".", false},
			{"s3:GetObject*", ".", false}},
		FnOrgMember: {{"states:DescribeExecution", ":execution:", true}, {"states:StartExecution", ".", false},
			{"events:PutEvents", bus, true}, {"s3:GetObject*", ".", false}},
		FnOrgSummary: {{"states:DescribeExecution", ":execution:", true}, {"states:StopExecution", ".", false},
			{"states:StartExecution", ".", false}, {"events:PutEvents", bus, true}, {"s3:GetObject*", ".", false}},
	}
	for name, gs := range cases {
		p := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[name]))
		sts := s.statements(roleOf(p, "Role"))
		for _, g := range gs {
			if got := grants(sts, g.action, g.resource); got != g.want {
				t.Errorf("%s: %s on %s granted = %v, want %v (actions: %v)", name, g.action, g.resource, got, g.want, actions(sts))
			}
		}
	}
	// Only the EventPutters know the bus; only the API, the reconciler, the
	// organization scan's member and summary functions and the re-check
	// buffer the state machine.
	for _, spec := range FunctionSpecs {
		environment, _ := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[spec.Name]))["Environment"].(map[string]any)
		env, _ := environment["Variables"].(map[string]any)
		_, hasBus := env[citadel.EnvEventBus]
		_, hasSM := env[citadel.EnvStateMachineARN]
		if hasBus != slices.Contains(EventPutters, spec.Name) {
			t.Errorf("%s: %s set = %v", spec.Name, citadel.EnvEventBus, hasBus)
		}
		if hasSM != (spec.Name == FnAPI || spec.Name == FnReconcile || spec.Name == FnOrgMember || spec.Name == FnOrgSummary || spec.Name == FnRecheck) {
			t.Errorf("%s: %s set = %v", spec.Name, citadel.EnvStateMachineARN, hasSM)
		}
	}
}

// TestReadOnlyPolicies: only the home-account scanners (asset-sync, the
// Prowler task, and the api function, whose verify runs asset-sync's
// collectors once) carry the read-only policies.
func TestReadOnlyPolicies(t *testing.T) {
	s := defaultApp(t)
	readOnly := []string{"arn:<AWS::Partition>:iam::aws:policy/SecurityAudit", "arn:<AWS::Partition>:iam::aws:policy/job-function/ViewOnlyAccess"}
	for _, spec := range FunctionSpecs {
		role := s.props(t, roleOf(s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[spec.Name])), "Role"))
		var managed []string
		for _, m := range role["ManagedPolicyArns"].([]any) {
			managed = append(managed, render(m))
		}
		want := []string{"arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
		if spec.Name == FnAssetSync || spec.Name == FnAPI {
			want = append(want, readOnly...)
		}
		if diff := cmp.Diff(want, managed); diff != "" {
			t.Errorf("%s: managed policies (-want +got):\n%s", spec.Name, diff)
		}
	}
}

// TestNoWildcardPolicies: no statement allows every action of a service, and
// Resource "*" appears only for actions that have no resource-level permissions.
func TestNoWildcardPolicies(t *testing.T) {
	for name, s := range map[string]*synthesized{"default": defaultApp(t), "custom": customApp(t)} {
		unscoped := map[string]bool{
			"ecr:GetAuthorizationToken": true, "ecs:DescribeTasks": true, "ecs:StopTask": true,
			"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "xray:GetSamplingRules": true,
			"xray:GetSamplingTargets": true, "logs:CreateLogDelivery": true, "logs:GetLogDelivery": true,
			"logs:UpdateLogDelivery": true, "logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true,
			"logs:PutResourcePolicy": true, "logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
		}
		// The organization sync's list calls: an organization's OUs and roots are data.
		for _, a := range OrganizationsReadActions {
			unscoped[a] = true
		}
		for _, tmpl := range []map[string]any{s.json, s.tjson} {
			policies := resourcesOf(tmpl, "AWS::IAM::Policy")
			for id, p := range resourcesOf(tmpl, "AWS::IAM::ManagedPolicy") {
				policies[id] = p
			}
			for id, p := range policies {
				for _, st := range p["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					stm := st.(map[string]any)
					acts := strs(stm["Action"])
					for _, a := range acts {
						if a == "*" || strings.HasSuffix(a, ":*") {
							t.Errorf("%s: %s allows %s", name, id, a)
						}
					}
					for _, r := range flatten(stm["Resource"]) {
						if r != "*" {
							continue
						}
						for _, a := range acts {
							if !unscoped[a] {
								t.Errorf("%s: %s allows %s on every resource", name, id, a)
							}
						}
					}
				}
			}
		}
	}
}
