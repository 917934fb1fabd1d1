package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// cfnLint finds cfn-lint: CFN_LINT, the project's .venv (make venv), or PATH.
func cfnLint(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CFN_LINT"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../.venv/bin/cfn-lint"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("cfn-lint"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("cfn-lint not found: run make venv")
	}
	t.Skip("cfn-lint not found: run make venv")
	return ""
}

type lintMatch struct {
	Level    string
	Message  string
	Rule     struct{ Id string }
	Location struct {
		Path []any
	}
}

// lint runs cfn-lint on a template file and returns its findings.
func lint(t *testing.T, bin, path string) []lintMatch {
	t.Helper()
	out, err := exec.Command(bin, "--format", "json", "--", path).Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("cfn-lint: %v", err)
	}
	var matches []lintMatch
	if err := json.Unmarshal(out, &matches); err != nil {
		t.Fatalf("cfn-lint output: %v\n%s", err, out)
	}
	return matches
}

// TestCfnLint: both synthesized templates lint without an error. Warnings
// are logged (W3005, a DependsOn that a GetAtt already implies, is CDK's).
func TestCfnLint(t *testing.T) {
	bin := cfnLint(t)
	s := defaultApp(t)
	for _, name := range []string{MainStackName, TargetStackName} {
		path := filepath.Join(s.outDir, name+".template.json")
		for _, m := range lint(t, bin, path) {
			if m.Level == "Error" {
				t.Errorf("%s: %s %s at %v", name, m.Rule.Id, m.Message, m.Location.Path)
			} else {
				t.Logf("%s: %s %s %s", name, m.Level, m.Rule.Id, m.Message)
			}
		}
	}

	// The linter does find errors: a table whose billing mode does not exist.
	bad := filepath.Join(t.TempDir(), "bad.template.json")
	tmpl := `{"Resources":{"T":{"Type":"AWS::DynamoDB::Table","Properties":{"BillingMode":"FREE",` +
		`"KeySchema":[{"AttributeName":"PK","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"PK","AttributeType":"S"}]}}}}`
	if err := os.WriteFile(bad, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := 0
	for _, m := range lint(t, bin, bad) {
		if m.Level == "Error" {
			errs++
		}
	}
	if errs == 0 {
		t.Error("cfn-lint found no error in a broken template")
	}
}
