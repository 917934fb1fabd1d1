package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTargetRoleStack(t *testing.T) {
	for name, tc := range map[string]struct {
		s           *synthesized
		roleName    string
		trustedDflt any
	}{
		"default": {defaultApp(t), "CitadelScanner", nil},
		"custom":  {customApp(t), customContext[CtxScannerRoleName].(string), customContext[CtxTrustedAccount]},
	} {
		t.Run(name, func(t *testing.T) {
			tmpl := tc.s.tjson
			params := tmpl["Parameters"].(map[string]any)
			trusted := params["TrustedAccountId"].(map[string]any)
			if trusted["AllowedPattern"] != `^\d{12}$` || trusted["Default"] != tc.trustedDflt {
				t.Errorf("TrustedAccountId %v", trusted)
			}
			ext := params["ExternalId"].(map[string]any)
			if ext["NoEcho"] != true || ext["MinLength"] != float64(2) {
				t.Errorf("ExternalId %v", ext)
			}
			roles := resourcesOf(tmpl, "AWS::IAM::Role")
			for id, r := range roles {
				if r["Condition"] == condForward {
					delete(roles, id) // the change forwarder's (targetforward_test.go)
				}
			}
			if len(roles) != 1 {
				t.Fatalf("%d roles, want 1", len(roles))
			}
			if n := len(tmpl["Resources"].(map[string]any)); n != 3 {
				t.Errorf("%d resources, want the role and the change forwarder's rule and role", n)
			}
			for _, r := range roles {
				p := r["Properties"].(map[string]any)
				if p["RoleName"] != tc.roleName || p["MaxSessionDuration"] != float64(ScannerSessionHours*3600) {
					t.Errorf("role %v", p)
				}
				var managed []string
				for _, m := range p["ManagedPolicyArns"].([]any) {
					managed = append(managed, render(m))
				}
				wantManaged := []string{"arn:<AWS::Partition>:iam::aws:policy/SecurityAudit", "arn:<AWS::Partition>:iam::aws:policy/job-function/ViewOnlyAccess"}
				if diff := cmp.Diff(wantManaged, managed); diff != "" {
					t.Errorf("managed policies (-want +got):\n%s", diff)
				}
				if _, ok := p["Policies"]; ok {
					t.Errorf("inline policies on a read-only role: %v", p["Policies"])
				}
				trust := p["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)
				if len(trust) != 1 {
					t.Fatalf("trust %v", trust)
				}
				st := trust[0].(map[string]any)
				got := map[string]string{
					"Action":     render(st["Action"]),
					"Principal":  render(st["Principal"].(map[string]any)["AWS"]),
					"ExternalId": render(st["Condition"].(map[string]any)["StringEquals"].(map[string]any)["sts:ExternalId"]),
				}
				want := map[string]string{
					"Action":     "sts:AssumeRole",
					"Principal":  "arn:<AWS::Partition>:iam::<TrustedAccountId>:root",
					"ExternalId": "<ExternalId>",
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("trust (-want +got):\n%s", diff)
				}
			}
			if _, ok := tmpl["Outputs"].(map[string]any)["ScannerRoleArn"]; !ok {
				t.Error("no ScannerRoleArn output")
			}
		})
	}
}
