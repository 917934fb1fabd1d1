package plan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/steps/plan"
)

func TestNarrow(t *testing.T) {
	mapped := []string{"a_check", "b_check", "c_check"}
	cases := []struct {
		name string
		only []string
		want []string
	}{
		{name: "no subset: every check", want: mapped},
		{name: "a subset, in the mapped order", only: []string{"c_check", "a_check"}, want: []string{"a_check", "c_check"}},
		{name: "unmapped checks are left out", only: []string{"b_check", "z_check"}, want: []string{"b_check"}},
		{name: "nothing in common", only: []string{"z_check"}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, plan.Narrow(mapped, tc.only)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
