package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/google/go-cmp/cmp"
)

// stackSetApp synthesizes the StackSet stack alone in an app of its own
// (with the cdk-nag checks), beside a target-role stack of the same
// configuration to compare its template with.
func stackSetApp(t *testing.T, cfg Config) (set, target map[string]any, nagFindings []string) {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack, err := NewStackSetStack(app, StackSetStackName, cfg)
	if err != nil {
		t.Fatalf("the StackSet stack: %v", err)
	}
	tstack := NewTargetRoleStack(app, TargetStackName, cfg)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	ann := assertions.Annotations_FromStack(stack)
	match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for _, found := range []*[]*cxapi.SynthesisMessage{ann.FindError(jsii.String("*"), match), ann.FindWarning(jsii.String("*"), match)} {
		for _, m := range *found {
			msg, _ := m.Entry.Data.(string)
			nagFindings = append(nagFindings, *m.Id+": "+firstLine(msg))
		}
	}
	return *assertions.Template_FromStack(stack, nil).ToJSON(), *assertions.Template_FromStack(tstack, nil).ToJSON(), nagFindings
}

// TestStackSetStack: the StackSet's properties, parameters and outputs, its
// template the target-role stack's, in each configuration; cdk-nag clean.
func TestStackSetStack(t *testing.T) {
	cases := []struct {
		name    string
		cfg     func(*Config)
		targets []string
		callAs  string
		dflt    any // TrustedAccountId's default
	}{
		{"the root, as the management account", func(c *Config) { c.OrgStackSetTargets = []string{"r-ab12"} },
			[]string{"r-ab12"}, CallAsSelf, nil},
		{"two OUs, as a delegated administrator", func(c *Config) {
			c.OrgStackSetTargets, c.OrgStackSetCallAs = []string{"ou-ab12-11111111", "ou-ab12-22222222"}, CallAsDelegatedAdmin
		}, []string{"ou-ab12-11111111", "ou-ab12-22222222"}, CallAsDelegatedAdmin, nil},
		{"another role name and a trusted account", func(c *Config) {
			c.OrgStackSetTargets, c.OrgStackSetCallAs = []string{"ou-ab12-11111111"}, CallAsSelf
			c.ScannerRoleName, c.TrustedAccount = "AuditScanner", "999988887777"
		}, []string{"ou-ab12-11111111"}, CallAsSelf, "999988887777"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.OrgStackSet = true
			tc.cfg(&cfg)
			tmpl, target, findings := stackSetApp(t, cfg)
			for _, f := range findings {
				t.Errorf("cdk-nag: %s", f)
			}
			checkStackSetTemplate(t, tmpl, target, cfg, tc.targets, tc.callAs, tc.dflt)
		})
	}
}

// checkStackSetTemplate asserts a synthesized StackSet stack's template.
func checkStackSetTemplate(t *testing.T, tmpl, target map[string]any, cfg Config, targets []string, callAs string, trustedDefault any) {
	t.Helper()
	if _, ok := tmpl["Rules"]; ok {
		t.Errorf("a bootstrap-version rule in the StackSet stack: %v", tmpl["Rules"])
	}
	params := tmpl["Parameters"].(map[string]any)
	if diff := cmp.Diff([]string{ParamEventBusARN, ParamExternalID, ParamTrustedAccount}, sortedKeys(params)); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
	trusted, ext := params[ParamTrustedAccount].(map[string]any), params[ParamExternalID].(map[string]any)
	if trusted["AllowedPattern"] != `^\d{12}$` || trusted["Default"] != trustedDefault {
		t.Errorf("TrustedAccountId %v", trusted)
	}
	if ext["NoEcho"] != true || ext["MinLength"] != float64(2) || ext["MaxLength"] != float64(1224) {
		t.Errorf("ExternalId %v", ext)
	}
	sets := resourcesOf(tmpl, "AWS::CloudFormation::StackSet")
	if len(sets) != 1 || len(tmpl["Resources"].(map[string]any)) != 1 {
		t.Fatalf("resources %v, want the StackSet alone", sortedKeys(tmpl["Resources"].(map[string]any)))
	}
	var props map[string]any
	for _, r := range sets {
		props = r["Properties"].(map[string]any)
	}
	body, _ := props["TemplateBody"].(string)
	delete(props, "TemplateBody")
	anyStrings := func(ss []string) []any {
		out := make([]any, len(ss))
		for i, s := range ss {
			out[i] = s
		}
		return out
	}
	want := map[string]any{
		"StackSetName":     ScannerStackSetName,
		"Description":      "Citadel scanner role (" + cfg.ScannerRoleName + "), read-only, in every account of the target OUs",
		"PermissionModel":  "SERVICE_MANAGED",
		"CallAs":           callAs,
		"AutoDeployment":   map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
		"Capabilities":     []any{"CAPABILITY_NAMED_IAM"},
		"ManagedExecution": map[string]any{"Active": true},
		"OperationPreferences": map[string]any{
			"MaxConcurrentPercentage":    float64(StackSetMaxConcurrentPercentage),
			"FailureTolerancePercentage": float64(StackSetFailureTolerancePercentage),
			"ConcurrencyMode":            "SOFT_FAILURE_TOLERANCE",
		},
		"Parameters": []any{
			map[string]any{"ParameterKey": ParamTrustedAccount, "ParameterValue": map[string]any{"Ref": ParamTrustedAccount}},
			map[string]any{"ParameterKey": ParamExternalID, "ParameterValue": map[string]any{"Ref": ParamExternalID}},
			map[string]any{"ParameterKey": ParamEventBusARN, "ParameterValue": map[string]any{"Ref": ParamEventBusARN}},
		},
		"StackInstancesGroup": []any{map[string]any{
			"DeploymentTargets": map[string]any{"OrganizationalUnitIds": anyStrings(targets)},
			"Regions":           []any{map[string]any{"Ref": "AWS::Region"}},
		}},
	}
	if diff := cmp.Diff(want, props); diff != "" {
		t.Errorf("the StackSet (-want +got):\n%s", diff)
	}
	outputs := tmpl["Outputs"].(map[string]any)
	if diff := cmp.Diff([]string{"ScannerRoleName", "ScannerStackSetId"}, sortedKeys(outputs)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if got := outputs["ScannerRoleName"].(map[string]any)["Value"]; got != cfg.ScannerRoleName {
		t.Errorf("ScannerRoleName output %v", got)
	}

	// The body: the target-role stack's template, less CDK's bootstrap
	// parameter and rule, within the TemplateBody limit.
	if len(body) == 0 || len(body) > MaxTemplateBody {
		t.Fatalf("TemplateBody is %d bytes, want 1 to %d", len(body), MaxTemplateBody)
	}
	t.Logf("TemplateBody: %d bytes of %d", len(body), MaxTemplateBody)
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("TemplateBody is not JSON: %v", err)
	}
	wantBody := map[string]any{}
	for k, v := range target {
		wantBody[k] = v
	}
	delete(wantBody, "Rules")
	delete(wantBody["Parameters"].(map[string]any), "BootstrapVersion")
	if diff := cmp.Diff(wantBody, got); diff != "" {
		t.Errorf("TemplateBody is not the target-role stack's template (-want +got):\n%s", diff)
	}
}

// TestTemplateBodyFitsLongestNames: the body stays within CloudFormation's
// limit with IAM's longest role name.
func TestTemplateBodyFitsLongestNames(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ScannerRoleName, cfg.TrustedAccount = strings.Repeat("R", 64), "999988887777"
	body, err := TargetRoleTemplate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > MaxTemplateBody/4 {
		t.Errorf("TemplateBody is %d bytes: a quarter of the %d allowed is the margin kept", len(body), MaxTemplateBody)
	}
	if strings.Contains(body, "aws:cdk:path") || strings.Contains(body, "BootstrapVersion") || strings.Contains(body, "CDKMetadata") {
		t.Errorf("TemplateBody carries CDK's metadata: %s", body)
	}
}

// TestStackSetStackOnlyWhenEnabled: the default app has no StackSet stack;
// the custom one (orgStackSet=true) has it, as its context says.
func TestStackSetStackOnlyWhenEnabled(t *testing.T) {
	d := defaultApp(t)
	if d.stacks.StackSet != nil {
		t.Error("a StackSet stack without orgStackSet")
	}
	if _, err := os.Stat(filepath.Join(d.outDir, StackSetStackName+".template.json")); !os.IsNotExist(err) {
		t.Errorf("the default synthesis wrote %s's template (%v)", StackSetStackName, err)
	}
	c := customApp(t)
	if c.stacks.StackSet == nil {
		t.Fatal("no StackSet stack with orgStackSet=true")
	}
	if got := *c.stacks.StackSet.StackName(); got != StackSetStackName {
		t.Errorf("stack name %q", got)
	}
	tmpl := *assertions.Template_FromStack(c.stacks.StackSet, nil).ToJSON()
	checkStackSetTemplate(t, tmpl, c.tjson, c.cfg, strings.Split(customContext[CtxOrgStackSetTargets].(string), ","),
		customContext[CtxOrgStackSetCallAs].(string), customContext[CtxTrustedAccount])
}

// TestStackSetCfnLint: cfn-lint finds no error in the StackSet stack's
// template nor in the template it deploys.
func TestStackSetCfnLint(t *testing.T) {
	bin := cfnLint(t)
	c := customApp(t)
	path := filepath.Join(c.outDir, StackSetStackName+".template.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Properties struct{ TemplateBody string }
		}
	}
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	bodyPath := filepath.Join(t.TempDir(), "body.template.json")
	for _, r := range tmpl.Resources {
		if err := os.WriteFile(bodyPath, []byte(r.Properties.TemplateBody), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path, bodyPath} {
		for _, m := range lint(t, bin, p) {
			if m.Level == "Error" {
				t.Errorf("%s: %s %s at %v", filepath.Base(p), m.Rule.Id, m.Message, m.Location.Path)
			} else {
				t.Logf("%s: %s %s %s", filepath.Base(p), m.Level, m.Rule.Id, m.Message)
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
