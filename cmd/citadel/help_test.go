package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelpExitsZero: asking any command for help prints its usage and exits
// 0 (a script can tell help from failure); a real error still exits 1.
func TestHelpExitsZero(t *testing.T) {
	exe := buildCitadel(t)
	cases := []struct {
		args []string
		code int
		says string // in stdout or stderr
	}{
		{[]string{"--help"}, 0, "usage: citadel"},
		{[]string{"table", "--help"}, 0, "citadel table create"},
		{[]string{"table", "create", "-h"}, 0, "citadel table create"},
		{[]string{"catalog", "--help"}, 0, "catalog"},
		{[]string{"catalog", "import", "--help"}, 0, "-prowler"},
		{[]string{"catalog", "links", "-h"}, 0, "Usage"},
		{[]string{"links", "--help"}, 0, "citadel links"},
		{[]string{"links", "add", "-h"}, 0, "citadel links"},
		{[]string{"scan", "--help"}, 0, "-integration"},
		{[]string{"report", "-help"}, 0, "-integration"},
		{[]string{"demo", "--help"}, 0, "Usage"},
		{[]string{"folders", "--help"}, 0, "citadel folders"},
		{[]string{"folders", "create", "-h"}, 0, "-id"},
		{[]string{"folders", "rename", "--help"}, 0, "folders rename ID NAME"},
		{[]string{"folders", "rename", "fld-1"}, 2, "needs ID NAME"},
		{[]string{"folders", "create", "x", "--id", "a/b"}, 2, "--id"},
		{[]string{"folders", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"integrations", "--help"}, 0, "citadel integrations"},
		{[]string{"integrations", "add", "--help"}, 0, "-frameworks"},
		{[]string{"integrations", "verify", "-h"}, 0, "-regions"},
		{[]string{"scan", "start", "--help"}, 0, "-wait"},
		{[]string{"scans", "--help"}, 0, "citadel scans list"},
		{[]string{"scans", "show", "-h"}, 0, "scans show SCAN"},
		{[]string{"evidence", "--help"}, 0, "evidence queue"},
		{[]string{"evidence", "approve", "-h"}, 0, "-comment"},
		{[]string{"exceptions", "--help"}, 0, "import-mutelist FILE"},
		{[]string{"exceptions", "request", "-h"}, 0, "-all-assets"},
		{[]string{"exceptions", "list", "--help"}, 0, "-status"},
		{[]string{"exceptions", "show", "-h"}, 0, "exceptions show ID"},
		{[]string{"exceptions", "approve", "-h"}, 0, "-note"},
		{[]string{"exceptions", "reject", "-h"}, 0, "-note"},
		{[]string{"exceptions", "revoke", "-h"}, 0, "exceptions revoke ID"},
		{[]string{"exceptions", "import-mutelist", "--help"}, 0, "-dry-run"},
		{[]string{"coverage", "--help"}, 0, "coverage FRAMEWORK"},
		{[]string{"findings", "--help"}, 0, "-requirement"},
		{[]string{"catalog", "status", "--help"}, 0, "-stack"},
		{[]string{"catalog", "add-scf", "-h"}, 0, "-wait"},
		{[]string{"serve", "--help"}, 0, "loopback"},
		{[]string{"whoami", "-h"}, 0, "-stack"},
		{[]string{"scan", "--no-such-flag"}, 1, "no-such-flag"},
		// The deployment's commands: a bad flag or argument is exit 2, naming it.
		{[]string{"integrations", "add", "--acount", "1"}, 2, "acount"},
		{[]string{"scans", "show"}, 2, "needs SCAN"},
		{[]string{"findings"}, 2, "--integration is required"},
		{[]string{"exceptions"}, 2, "exceptions: missing command"},
		{[]string{"exceptions", "request", "--integration", "int-1", "--check", "c", "--justification", "j", "--owner", "o", "--expires", "30d"}, 2, "give one scope"},
		{[]string{"exceptions", "import-mutelist", "m.yaml", "--integration", "int-1", "--owner", "o", "--expires", "someday"}, 2, "--expires"},
		{[]string{"serve", "--addr", "0.0.0.0:8080"}, 1, "not a loopback address"},
		{[]string{"frobnicate"}, 1, `unknown command "frobnicate"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.CommandContext(context.Background(), exe, tc.args...)
			cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL=http://127.0.0.1:1") // nothing may be called
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			if !strings.Contains(string(out), tc.says) {
				t.Errorf("output does not say %q:\n%s", tc.says, out)
			}
		})
	}
}

// buildCitadel builds the command into the test's folder.
func buildCitadel(t *testing.T) string {
	t.Helper()
	exe := t.TempDir() + "/citadel"
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return exe
}
