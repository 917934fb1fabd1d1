package citadel

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Each role's policy output has a name of its own, the role's capitalized.
func TestOutputRolePolicy(t *testing.T) {
	got := map[Role]string{}
	for _, r := range Roles {
		got[r] = OutputRolePolicy(r)
	}
	want := map[Role]string{RoleAdmin: "AdminPolicyArn", RoleOperator: "OperatorPolicyArn", RoleAuditor: "AuditorPolicyArn", RoleViewer: "ViewerPolicyArn"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}
