package demoestate_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestSeed seeds the estate into a fresh account: every expectation names a
// seeded resource of that account and one of Checks, every check of Checks
// has a failing and a passing expectation or a failing one, and DemoChecks
// holds Checks without repeats.
func TestSeed(t *testing.T) {
	cfg := testenv.Config(t)
	acct, accountID, _ := testenv.Account(t, cfg)
	e, err := demoestate.Seed(context.Background(), acct, accountID)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Resources) != 44 || e.Requests < 60 {
		t.Errorf("%d resources in %d requests, want 44 resources", len(e.Resources), e.Requests)
	}
	seeded := map[string]bool{}
	for name, arn := range e.Resources {
		seeded[arn] = true
		if !strings.Contains(arn, accountID) && !strings.HasPrefix(arn, "arn:aws:s3:::") {
			t.Errorf("%s = %s, not in account %s", name, arn, accountID)
		}
	}
	fails := map[string]bool{}
	for _, x := range e.Expect {
		if !seeded[x.Resource] {
			t.Errorf("%s expects %s on %q, which was not seeded", x.Check, x.Status, x.Resource)
		}
		if !slices.Contains(demoestate.Checks, x.Check) {
			t.Errorf("expectation of %s, which Checks does not list", x.Check)
		}
		if x.Status == "FAIL" {
			fails[x.Check] = true
		}
	}
	for _, c := range demoestate.Checks {
		if !slices.ContainsFunc(e.Expect, func(x demoestate.Expect) bool { return x.Check == c }) {
			t.Errorf("check %s has no expectation", c)
		}
	}
	if len(fails) < 15 {
		t.Errorf("only %d checks fail somewhere: the estate's misconfigurations are missing", len(fails))
	}
	sorted := slices.Clone(demoestate.DemoChecks)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(demoestate.DemoChecks) {
		t.Error("DemoChecks repeats a check")
	}
	for _, c := range demoestate.Checks {
		if !slices.Contains(demoestate.DemoChecks, c) {
			t.Errorf("DemoChecks lacks %s", c)
		}
	}
}
