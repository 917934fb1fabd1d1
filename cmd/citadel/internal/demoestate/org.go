package demoestate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// The demo's AWS Organization: the demo account is its management account,
// and an OU holds one member account with an estate of its own.
const (
	OUName            = "Workloads"
	MemberAccountName = "Demo workload"
)

// Org is what SeedOrganization created.
type Org struct {
	ID, RootID, OU string
	// Member is the member account's id; Estate its resources.
	Member string
	Estate Estate
}

// SeedOrganization makes the demo account (mgmt: its configuration, see
// Target) the management account of an organization with the OU OUName
// and, in it, a new account with a smaller estate (KMS keys, IAM, a network, storage),
// seeded through its scanner role from cfg. Its ids (organization, OU,
// account) come from the local server's seeded random generator: the same
// on every run that makes the same calls after the same seed.
func SeedOrganization(ctx context.Context, cfg, mgmt aws.Config) (Org, error) {
	c := organizations.NewFromConfig(inRegion(mgmt, East))
	org, err := c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		return Org{}, fmt.Errorf("seed organization: %w", err)
	}
	o := Org{ID: aws.ToString(org.Organization.Id)}
	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) == 0 {
		return o, fmt.Errorf("seed organization: its root: %v", err)
	}
	o.RootID = aws.ToString(roots.Roots[0].Id)
	ou, err := c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(o.RootID), Name: aws.String(OUName)})
	if err != nil {
		return o, fmt.Errorf("seed organization: OU %s: %w", OUName, err)
	}
	o.OU = aws.ToString(ou.OrganizationalUnit.Id)
	acct, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(MemberAccountName),
		Email: aws.String("workload@demo.citadel.invalid")})
	if err != nil {
		return o, fmt.Errorf("seed organization: account %s: %w", MemberAccountName, err)
	}
	if st := acct.CreateAccountStatus; st == nil || st.State != orgtypes.CreateAccountStateSucceeded || aws.ToString(st.AccountId) == "" {
		return o, fmt.Errorf("seed organization: account %s was not created at once (%+v)", MemberAccountName, acct.CreateAccountStatus)
	}
	o.Member = aws.ToString(acct.CreateAccountStatus.AccountId)
	if _, err := c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(o.Member),
		SourceParentId: aws.String(o.RootID), DestinationParentId: aws.String(o.OU)}); err != nil {
		return o, fmt.Errorf("seed organization: move account %s to %s: %w", o.Member, o.OU, err)
	}
	o.Estate, err = seed(ctx, Target(cfg, o.Member), o.Member, func(s *seeder) []func(aws.Config, aws.Config) {
		return []func(aws.Config, aws.Config){s.kms, s.iam, s.network, s.storage}
	})
	return o, err
}
