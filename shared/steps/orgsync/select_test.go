package orgsync_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/orgsync"
)

// Every state but ACTIVE keeps an account out: moto's CloseAccount only
// reaches SUSPENDED, so the other states are covered here.
func TestSelect(t *testing.T) {
	acct := func(id, state string) orgsync.Account { return orgsync.Account{ID: id, Name: "n" + id, State: state} }
	listed := []orgsync.Account{
		acct("555555555555", "ACTIVE"), acct("222222222222", "ACTIVE"), acct("333333333333", "SUSPENDED"),
		acct("444444444444", "PENDING_CLOSURE"), acct("666666666666", "CLOSED"), acct("777777777777", "PENDING_ACTIVATION"),
		acct("888888888888", ""), acct("999999999999", "ACTIVE"),
		acct("222222222222", "ACTIVE"), // under two OUs given: once
	}
	tests := []struct {
		name string
		o    citadel.OrganizationOptions
		want orgsync.Selection
	}{
		{"no filter", citadel.OrganizationOptions{}, orgsync.Selection{Listed: 8, Inactive: 5,
			Members: []orgsync.Account{acct("222222222222", "ACTIVE"), acct("555555555555", "ACTIVE"), acct("999999999999", "ACTIVE")}}},
		{"excluded, suspended or not", citadel.OrganizationOptions{ExcludeAccounts: []string{"999999999999", "333333333333"}},
			orgsync.Selection{Listed: 8, Inactive: 5, Excluded: 1,
				Members: []orgsync.Account{acct("222222222222", "ACTIVE"), acct("555555555555", "ACTIVE")}}},
		{"included, one not listed", citadel.OrganizationOptions{IncludeAccounts: []string{"555555555555", "444444444444", "121212121212"}},
			orgsync.Selection{Listed: 8, Inactive: 5, Excluded: 2, Unlisted: []string{"121212121212"},
				Members: []orgsync.Account{acct("555555555555", "ACTIVE")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, orgsync.Select(listed, tt.o), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("selection (-want +got):\n%s", d)
			}
		})
	}
}

// An account's state is the API's State; an answer without one (before
// State existed) falls back to Status.
func TestAccountState(t *testing.T) {
	tests := []struct {
		name   string
		in     types.Account
		active bool
	}{
		{"State active", types.Account{Id: aws.String("1"), State: types.AccountStateActive, Status: types.AccountStatusActive}, true},
		{"State wins over Status", types.Account{Id: aws.String("1"), State: types.AccountStatePendingClosure, Status: types.AccountStatusActive}, false},
		{"Status alone, suspended", types.Account{Id: aws.String("1"), Status: types.AccountStatusSuspended}, false},
		{"Status alone, active", types.Account{Id: aws.String("1"), Status: types.AccountStatusActive}, true},
		{"neither", types.Account{Id: aws.String("1")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := orgsync.AccountOf(tt.in).Active(); got != tt.active {
				t.Errorf("active = %v, want %v", got, tt.active)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	org := citadel.Integration{ID: "int-org", FolderID: "f1", AccountID: "111111111111", Kind: citadel.KindOrganization,
		RoleARN: "arn:aws:iam::111111111111:role/CitadelScanner"}
	m := func(account string) citadel.Integration { return org.Member(account, "", now) }
	acct := func(id string) orgsync.Account { return orgsync.Account{ID: id, State: "ACTIVE"} }
	tests := []struct {
		name    string
		inScope []orgsync.Account
		members []citadel.Integration
		want    orgsync.Changes
	}{
		{"first sync", []orgsync.Account{acct("111111111111"), acct("222222222222")}, nil,
			orgsync.Changes{Create: []orgsync.Account{acct("222222222222")}, Own: true}},
		{"kept, new, gone", []orgsync.Account{acct("222222222222"), acct("333333333333")},
			[]citadel.Integration{m("222222222222"), m("444444444444")},
			orgsync.Changes{Create: []orgsync.Account{acct("333333333333")}, Check: []citadel.Integration{m("222222222222")},
				Archive: []citadel.Integration{m("444444444444")}}},
		{"a member of the organization's own account goes", []orgsync.Account{acct("111111111111")},
			[]citadel.Integration{m("111111111111")}, orgsync.Changes{Archive: []citadel.Integration{m("111111111111")}, Own: true}},
		{"nothing in scope", nil, []citadel.Integration{m("222222222222")}, orgsync.Changes{Archive: []citadel.Integration{m("222222222222")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, orgsync.Plan(org, tt.inScope, tt.members), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}
