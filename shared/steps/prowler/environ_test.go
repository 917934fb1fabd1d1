package prowler

import (
	"slices"
	"testing"
)

// TestEnvironTurnsHostPrefixesOffLocally: against a local AWS server (one
// endpoint for every service) botocore's host prefixes are off, so S3
// Control's <account id>. prefix does not name a host that does not exist;
// against AWS they stay on.
func TestEnvironTurnsHostPrefixesOffLocally(t *testing.T) {
	const off = "AWS_DISABLE_HOST_PREFIX_INJECTION=true"
	p := &Prowler{Env: []string{"EXTRA=1"}}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
	t.Setenv("LOG_LEVEL", "debug")
	env := p.environ()
	if !slices.Contains(env, off) || !slices.Contains(env, "PYTHONUNBUFFERED=1") || env[len(env)-1] != "EXTRA=1" {
		t.Errorf("local environment %q: want %s, unbuffered output and p.Env last", env, off)
	}
	if slices.Contains(env, "LOG_LEVEL=debug") {
		t.Error("LOG_LEVEL reaches Prowler (it would override --log-level)")
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	if slices.Contains(p.environ(), off) {
		t.Errorf("host prefixes turned off against AWS")
	}
}
