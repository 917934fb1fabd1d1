package citadel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func validOrganization() citadel.Integration {
	return citadel.Integration{ID: "int-org", FolderID: "f1", Name: "Acme", AccountID: "111111111111", Kind: citadel.KindOrganization,
		RoleARN: "arn:aws:iam::111111111111:role/CitadelScanner", ExternalID: "ext-org1",
		Regions: []string{"us-east-1", "eu-west-1"}, Frameworks: []string{"cis_2.0_aws"}, Checks: []string{"iam_root_mfa_enabled"},
		ScheduleExpression: "rate(1 day)", CreatedAt: t0, UpdatedAt: t0}
}

func TestIntegrationKindValidate(t *testing.T) {
	opts := func(o citadel.OrganizationOptions) func(*citadel.Integration) {
		return func(i *citadel.Integration) { i.Organization = &o }
	}
	member := func(i *citadel.Integration) {
		*i = validIntegration()
		i.ParentID, i.ScheduleExpression = "int-org", ""
	}
	tests := []struct {
		name   string
		mutate func(*citadel.Integration)
		want   string // substring of the error, "" for valid
	}{
		{"organization, the whole of it", func(*citadel.Integration) {}, ""},
		{"organization with OUs, the root and filters", opts(citadel.OrganizationOptions{OUs: []string{"ou-ab12-cdef5678", "r-ab12"},
			IncludeAccounts: []string{"222222222222"}, ExcludeAccounts: []string{"333333333333"}, MemberRoleName: "audit/CitadelScanner"}), ""},
		{"organization in Citadel's own account, a member role named", func(i *citadel.Integration) {
			i.RoleARN, i.ExternalID = "", ""
			i.Organization = &citadel.OrganizationOptions{MemberRoleName: "CitadelScanner"}
		}, ""},
		{"organization without a role or a member role", func(i *citadel.Integration) { i.RoleARN = "" }, "needs role_arn"},
		{"explicit account kind", func(i *citadel.Integration) { i.Kind, i.Organization = citadel.KindAccount, nil }, ""},
		{"unknown kind", func(i *citadel.Integration) { i.Kind = "folder" }, `kind "folder" must be account or organization`},
		{"account with organization options", func(i *citadel.Integration) {
			i.Kind, i.Organization = "", &citadel.OrganizationOptions{}
		}, "only for an integration of kind organization"},
		{"not an OU id", opts(citadel.OrganizationOptions{OUs: []string{"Production"}}), `organization.ous: "Production" is not an OU id`},
		{"an OU id too short", opts(citadel.OrganizationOptions{OUs: []string{"ou-ab-cd"}}), `"ou-ab-cd" is not an OU id`},
		{"repeated OU", opts(citadel.OrganizationOptions{OUs: []string{"ou-ab12-cdef5678", "ou-ab12-cdef5678"}}), "organization.ous must not repeat"},
		{"bad included account", opts(citadel.OrganizationOptions{IncludeAccounts: []string{"1234"}}), `organization.include_accounts: account id "1234" must be 12 digits`},
		{"repeated excluded account", opts(citadel.OrganizationOptions{ExcludeAccounts: []string{"333333333333", "333333333333"}}), "organization.exclude_accounts must not repeat"},
		{"included and excluded", opts(citadel.OrganizationOptions{IncludeAccounts: []string{"333333333333"}, ExcludeAccounts: []string{"333333333333"}}),
			"account 333333333333 is both included and excluded"},
		{"member role name with a space", opts(citadel.OrganizationOptions{MemberRoleName: "Citadel Scanner"}), `member_role_name "Citadel Scanner" is not an IAM role name`},
		{"member role name from the root of paths", opts(citadel.OrganizationOptions{MemberRoleName: "/CitadelScanner"}), "is not an IAM role name"},
		{"organization as a member", func(i *citadel.Integration) { i.ParentID = "int-other" }, "cannot be a member of another"},
		{"member", member, ""},
		{"member with a schedule of its own", func(i *citadel.Integration) { member(i); i.ScheduleExpression = "rate(1 day)" },
			"scanned on its organization's schedule"},
		{"member of itself", func(i *citadel.Integration) { member(i); i.ParentID = i.ID }, "parent_id must name another integration"},
		{"member of no id", func(i *citadel.Integration) { member(i); i.ParentID = "org#1" }, `parent_id "org#1" is not an integration id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validOrganization()
			tt.mutate(&in)
			err := in.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !citadel.IsInvalid(err) {
				t.Fatalf("got %v, want an invalid error containing %q", err, tt.want)
			}
		})
	}
}

func TestOrganizationMember(t *testing.T) {
	later := t0.Add(time.Hour)
	tests := []struct {
		name    string
		org     func(*citadel.Integration)
		account string
		accName string
		want    func(*citadel.Integration)
	}{
		{"the organization's role name, external id and settings", func(*citadel.Integration) {}, "222222222222", "prod", func(*citadel.Integration) {}},
		{"a member role named in the options, with its path", func(o *citadel.Integration) {
			o.Organization = &citadel.OrganizationOptions{MemberRoleName: "audit/Scanner"}
		}, "222222222222", "prod", func(m *citadel.Integration) { m.RoleARN = "arn:aws:iam::222222222222:role/audit/Scanner" }},
		{"China: the role's partition", func(o *citadel.Integration) {
			o.RoleARN, o.Regions = "arn:aws-cn:iam::111111111111:role/CitadelScanner", []string{"cn-north-1"}
		}, "222222222222", "prod", func(m *citadel.Integration) {
			m.RoleARN, m.Regions = "arn:aws-cn:iam::222222222222:role/CitadelScanner", []string{"cn-north-1"}
		}},
		{"no role of its own: the regions' partition", func(o *citadel.Integration) {
			o.RoleARN, o.ExternalID, o.Regions = "", "", []string{"us-gov-west-1"}
			o.Organization = &citadel.OrganizationOptions{MemberRoleName: "CitadelScanner"}
		}, "222222222222", "prod", func(m *citadel.Integration) {
			m.RoleARN, m.ExternalID, m.Regions = "arn:aws-us-gov:iam::222222222222:role/CitadelScanner", "", []string{"us-gov-west-1"}
		}},
		{"an account without a name", func(*citadel.Integration) {}, "222222222222", " ", func(m *citadel.Integration) { m.Name = "AWS 222222222222" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := validOrganization()
			tt.org(&org)
			want := citadel.Integration{ID: citadel.MemberIntegrationID("int-org", tt.account), FolderID: "f1", Name: tt.accName,
				AccountID: tt.account, ParentID: "int-org", RoleARN: "arn:aws:iam::" + tt.account + ":role/CitadelScanner", ExternalID: "ext-org1",
				Regions: []string{"us-east-1", "eu-west-1"}, Frameworks: []string{"cis_2.0_aws"}, Checks: []string{"iam_root_mfa_enabled"},
				CreatedAt: later, UpdatedAt: later}
			tt.want(&want)
			got := org.Member(tt.account, tt.accName, later)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("member (-want +got):\n%s", d)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("the member does not validate: %v", err)
			}
			if !org.Inherits(got) {
				t.Error("a new member does not inherit its organization's settings")
			}
		})
	}
}

func TestMemberIntegrationID(t *testing.T) {
	a, b := citadel.MemberIntegrationID("int-org", "222222222222"), citadel.MemberIntegrationID("int-org2", "222222222222")
	if a != citadel.MemberIntegrationID("int-org", "222222222222") || a == b || a == citadel.MemberIntegrationID("int-org", "333333333333") {
		t.Errorf("ids %q, %q: want one per (organization, account), the same every time", a, b)
	}
	if !citadel.ValidID(a) || !strings.HasPrefix(a, "int-222222222222-") {
		t.Errorf("id %q: want a valid id naming its account", a)
	}
}

func TestMemberFollowsItsOrganization(t *testing.T) {
	org := validOrganization()
	m := org.Member("222222222222", "prod", t0)
	m.Name = "renamed by hand" // not inherited: stays
	org.Frameworks, org.Regions = []string{"soc2"}, nil
	if org.Inherits(m) {
		t.Fatal("a member with the organization's old frameworks and regions inherits its new ones")
	}
	next := org.Inherit(m)
	if !org.Inherits(next) || next.Name != "renamed by hand" || next.ID != m.ID || len(next.Regions) != 0 || next.Frameworks[0] != "soc2" {
		t.Errorf("inherited = %+v", next)
	}
}

func TestOrganizationOptionsSelects(t *testing.T) {
	tests := []struct {
		name string
		o    citadel.OrganizationOptions
		want map[string]bool
	}{
		{"no filter", citadel.OrganizationOptions{}, map[string]bool{"222222222222": true, "333333333333": true}},
		{"exclude", citadel.OrganizationOptions{ExcludeAccounts: []string{"333333333333"}}, map[string]bool{"222222222222": true, "333333333333": false}},
		{"include", citadel.OrganizationOptions{IncludeAccounts: []string{"333333333333"}}, map[string]bool{"222222222222": false, "333333333333": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]bool{}
			for a := range tt.want {
				got[a] = tt.o.Selects(a)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("selects (-want +got):\n%s", d)
			}
		})
	}
}
