package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestCatalogStateMachine: export? → catalog-export (the Prowler task in
// catalog mode, RunTask .sync) → catalog-import (the function, with the
// bucket's Prowler and SCF prefixes) → catalog-imported; retries, catches
// into catalog-failed, timeouts; skip_export goes straight to the import.
func TestCatalogStateMachine(t *testing.T) {
	s := defaultApp(t)
	def := s.definitionOf(t, s.stacks.Main.Catalog.StateMachine)
	m := parseASL(t, def)
	if m.StartAt != StateCatalogExportChoice {
		t.Errorf("starts at %s", m.StartAt)
	}
	choice := m.States[StateCatalogExportChoice]
	wantChoice := []map[string]any{{"And": []any{
		map[string]any{"Variable": "$.skip_export", "IsPresent": true},
		map[string]any{"Variable": "$.skip_export", "BooleanEquals": true},
	}, "Next": StateCatalogImport}}
	if d := cmp.Diff(wantChoice, choice.Choices); d != "" || choice.Default != StateCatalogExport {
		t.Errorf("choice (-want +got):\n%s default %s", d, choice.Default)
	}
	catch := []aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: StateCatalogFailed}}

	export := m.States[StateCatalogExport]
	if export.Resource != "arn:aws:states:::ecs:runTask.sync" || export.Next != StateCatalogImport || export.TimeoutSeconds != CatalogExportTimeout.Seconds() {
		t.Errorf("export = %+v", export)
	}
	if len(export.Retry) != 1 || !cmp.Equal(export.Retry[0].ErrorEquals, ECSRetryableErrors) || export.Retry[0].MaxAttempts != 3 {
		t.Errorf("export retries = %+v", export.Retry)
	}
	if d := cmp.Diff(catch, export.Catch); d != "" {
		t.Errorf("export catch (-want +got):\n%s", d)
	}
	if export.ResultPath != nil {
		t.Errorf("export result path %v, want discarded", *export.ResultPath)
	}
	var overrides struct {
		Overrides struct {
			ContainerOverrides []struct {
				Name        string
				Environment []map[string]string
			}
		}
	}
	b, _ := json.Marshal(export.Parameters)
	if err := json.Unmarshal(b, &overrides); err != nil {
		t.Fatal(err)
	}
	wantEnv := []map[string]string{
		{"Name": citadel.EnvTaskMode, "Value": citadel.TaskModeCatalog},
		{"Name": citadel.EnvTaskCatalogKey, "Value": citadel.CatalogPrefix},
	}
	if co := overrides.Overrides.ContainerOverrides; len(co) != 1 || co[0].Name != ProwlerContainerName || !cmp.Equal(wantEnv, co[0].Environment) {
		t.Errorf("container overrides = %+v, want %v", co, wantEnv)
	}
	if d := cmp.Diff(export.Parameters["TaskDefinition"], parseASL(t, s.definition(t)).States[citadel.StepProwler].ItemProcessor.States[StateProwlerTask].Parameters["TaskDefinition"]); d != "" {
		t.Errorf("not the scan's task definition (-scan +catalog):\n%s", d)
	}

	imp := m.States[StateCatalogImport]
	bucket := s.logicalID(s.stacks.Main.Bucket) // a Ref, resolved to the logical id
	if d := cmp.Diff(*toMap(CatalogImportPayload(bucket)), imp.Parameters); d != "" || !strings.HasPrefix(imp.Resource, "arn:aws:lambda:") {
		t.Errorf("import %s with parameters (-want +got):\n%s", imp.Resource, d)
	}
	if want := "s3://" + bucket + "/catalog/scf/"; CatalogImportPayload(bucket).SCFSource != want {
		t.Errorf("SCF source %s, want %s (the CLI's add-scf uploads there)", CatalogImportPayload(bucket).SCFSource, want)
	}
	if imp.ResultPath == nil || *imp.ResultPath != CatalogImportPath || imp.Next != StateCatalogImported {
		t.Errorf("import = %+v", imp)
	}
	if imp.TimeoutSeconds != (15*time.Minute + time.Minute).Seconds() {
		t.Errorf("import timeout %vs", imp.TimeoutSeconds)
	}
	wantRetry := append([]string{citadel.ErrorTypeRetryable}, LambdaServiceErrors...)
	if len(imp.Retry) != 1 || !cmp.Equal(imp.Retry[0].ErrorEquals, wantRetry) || imp.Retry[0].MaxAttempts != 4 {
		t.Errorf("import retries = %+v", imp.Retry)
	}
	if d := cmp.Diff(catch, imp.Catch); d != "" {
		t.Errorf("import catch (-want +got):\n%s", d)
	}
	if f := m.States[StateCatalogFailed]; f.Type != "Fail" || f.ErrorPath != "$.error.Error" || f.CausePath != "$.error.Cause" {
		t.Errorf("fail state = %+v", f)
	}
	if st := m.States[StateCatalogImported]; st.Type != "Succeed" || len(m.States) != 5 {
		t.Errorf("succeed state = %+v, %d states", st, len(m.States))
	}
	if raw := parseASLRaw(t, def); raw["TimeoutSeconds"] != CatalogExecutionTimeout.Seconds() {
		t.Errorf("execution timeout %v, want %v", raw["TimeoutSeconds"], CatalogExecutionTimeout.Seconds())
	}
	out := s.json["Outputs"].(map[string]any)[citadel.OutputCatalogStateMachine].(map[string]any)
	if render(out["Value"]) != "<"+s.logicalID(s.stacks.Main.Catalog.StateMachine)+">" {
		t.Errorf("output %s = %s", citadel.OutputCatalogStateMachine, render(out["Value"]))
	}
}

func TestCatalogStateMachineASLValid(t *testing.T) {
	bin := aslValidator(t)
	s := defaultApp(t)
	path := filepath.Join(t.TempDir(), "catalog.asl.json")
	if err := os.WriteFile(path, s.definitionOf(t, s.stacks.Main.Catalog.StateMachine), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--json-path", path).CombinedOutput(); err != nil {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
}

// loadCall is the catalog load's SDK call, as the custom resource's
// provider receives it (references rendered as <id>).
type loadCall struct {
	Service    string
	Action     string
	Parameters struct {
		StateMachineArn string `json:"stateMachineArn"`
		Input           string `json:"input"`
	}
	PhysicalResourceID struct{ ID string } `json:"physicalResourceId"`
}

// catalogLoad returns the load's resource properties and its create call.
func (s *synthesized) catalogLoad(t *testing.T) (map[string]any, loadCall) {
	t.Helper()
	p := s.props(t, s.logicalID(s.stacks.Main.Catalog.Load))
	var c loadCall
	if err := json.Unmarshal([]byte(render(p["Create"])), &c); err != nil {
		t.Fatalf("create call %s: %v", render(p["Create"]), err)
	}
	return p, c
}

// imageHash is the Prowler image asset's hash in the synthesis's asset manifest.
func (s *synthesized) imageHash(t *testing.T) string {
	t.Helper()
	var assets struct{ DockerImages map[string]any }
	if err := json.Unmarshal(readFile(t, filepath.Join(s.outDir, MainStackName+".assets.json")), &assets); err != nil {
		t.Fatal(err)
	}
	for h := range assets.DockerImages {
		return h
	}
	t.Fatal("no docker image asset")
	return ""
}

// TestCatalogLoad: the deployment starts the catalog state machine (on
// create and update alike) with the image's asset hash in the input, the
// provider may do only that, and the properties change with the image and
// with nothing else.
func TestCatalogLoad(t *testing.T) {
	s := defaultApp(t)
	p, c := s.catalogLoad(t)
	res := s.json["Resources"].(map[string]any)[s.logicalID(s.stacks.Main.Catalog.Load)].(map[string]any)
	if res["Type"] != "Custom::CatalogLoad" || render(p["Create"]) != render(p["Update"]) || p["Delete"] != nil {
		t.Errorf("resource %v: create %v, update %v, delete %v", res["Type"], p["Create"], p["Update"], p["Delete"])
	}
	if p["InstallLatestAwsSdk"] != "false" && p["InstallLatestAwsSdk"] != false {
		t.Errorf("InstallLatestAwsSdk = %v", p["InstallLatestAwsSdk"])
	}
	sm := "<" + s.logicalID(s.stacks.Main.Catalog.StateMachine) + ">"
	if c.Service != "SFN" || c.Action != "startExecution" || c.Parameters.StateMachineArn != sm {
		t.Errorf("call = %+v", c)
	}
	var in citadel.CatalogRunInput
	if err := json.Unmarshal([]byte(c.Parameters.Input), &in); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(citadel.CatalogRunInput{Image: s.imageHash(t)}, in); d != "" {
		t.Errorf("execution input (-want +got):\n%s", d)
	}
	// The provider's policy: start this state machine, nothing else.
	var sts []statement
	for _, pol := range s.resources("AWS::IAM::Policy") {
		props := pol["Properties"].(map[string]any)
		if strings.HasPrefix(props["PolicyName"].(string), "CatalogLoad") {
			for _, st := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				m := st.(map[string]any)
				sts = append(sts, statement{Actions: strs(m["Action"]), Resources: flatten(m["Resource"])})
			}
		}
	}
	if d := cmp.Diff([]statement{{Actions: []string{"states:StartExecution"}, Resources: []string{sm}}}, sts); d != "" {
		t.Errorf("provider policy (-want +got):\n%s", d)
	}

	// Another setting: the same properties (no new load). Another image: a
	// new input, so CloudFormation updates the resource and it starts again.
	other := synth(t, map[string]any{CtxScanRetentionDays: "30", CtxMinSchedule: "2h"})
	if p2, _ := other.catalogLoad(t); render(p2["Create"]) != render(p["Create"]) {
		t.Errorf("an unrelated change changed the load:\n%s\n%s", render(p["Create"]), render(p2["Create"]))
	}
	const src = "prowler-task/cmd/entrypoint/m.go"
	was := contextFiles[src]
	contextFiles[src] = was + "// a new entrypoint\n"
	defer func() { contextFiles[src] = was }()
	rebuilt := synth(t, nil)
	_, c3 := rebuilt.catalogLoad(t)
	if c3.Parameters.Input == c.Parameters.Input || !strings.Contains(c3.Parameters.Input, rebuilt.imageHash(t)) {
		t.Errorf("a new image did not change the load's input: %s", c3.Parameters.Input)
	}
}
