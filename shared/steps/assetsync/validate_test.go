package assetsync_test

import (
	"regexp"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
)

// Asset sync takes exactly the accounts, role ARNs and regions the API
// takes (citadel.Pattern*, which openapi.yaml declares): an integration the
// API stored is never refused by the step, and one it would refuse is.
func TestValidateTakesWhatTheAPITakes(t *testing.T) {
	roleRE := regexp.MustCompile(citadel.PatternRoleARN)
	regionRE := regexp.MustCompile(citadel.PatternRegion)
	accountRE := regexp.MustCompile(citadel.PatternAccountID)
	base := citadel.PlanOutput{IntegrationID: "int-1", AccountID: "123456789012"}
	for _, role := range []string{
		"arn:aws:iam::123456789012:role/CitadelScanner",
		"arn:aws-cn:iam::123456789012:role/path/to/Role",
		"arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f_g-h",
		"arn:aws-iso-b:iam::123456789012:role/x",
		"arn:aws:iam::123456789012:user/bob",
		"arn:aws:iam:123456789012:role/x",
		"arn:aws:iam::12345678901:role/x",
		"arn:aws:iam::123456789012:role/",
		"arn:aws:iam::123456789012:role/ünicode",
		"arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/x",
	} {
		p := base
		p.RoleARN = role
		if got, want := assetsync.Validate(p) == nil, roleRE.MatchString(role); got != want {
			t.Errorf("role ARN %q: step accepts %v, API accepts %v", role, got, want)
		}
	}
	for _, region := range []string{
		"us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "cn-north-1", "us-isob-east-1", "us-iso-east-1",
		"mars-1", "US-EAST-1", "us-east-10", "us-east", "us-east-١", "xx-foo-bar-baz-1", "",
	} {
		p := base
		p.Regions = []string{region}
		if got, want := assetsync.Validate(p) == nil, regionRE.MatchString(region); got != want {
			t.Errorf("region %q: step accepts %v, API accepts %v", region, got, want)
		}
	}
	for _, account := range []string{"123456789012", "12345678901", "1234567890123", "١٢٣٤٥٦٧٨٩٠١٢", "12345678901a"} {
		p := base
		p.AccountID = account
		if got, want := assetsync.Validate(p) == nil, accountRE.MatchString(account); got != want {
			t.Errorf("account %q: step accepts %v, API accepts %v", account, got, want)
		}
	}
}
