package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

const validOrganization = `{"name":"Acme","account_id":"123456789012","role_arn":"arn:aws:iam::123456789012:role/CitadelScanner","external_id":"ext-org","regions":["us-east-1"],"frameworks":["cis_2.0"],"schedule_expression":"rate(1 day)","kind":"organization","organization":{"ous":["ou-ab12-cdefgh34"],"exclude_accounts":["444455556666"]}}`

// orgWithMembers creates an organization integration through the API and
// members of accounts as its sync would.
func (f *fixture) orgWithMembers(accounts ...string) (citadel.Integration, []citadel.Integration) {
	f.t.Helper()
	f.putFrameworks("cis_2.0")
	org := f.createIntegration(validOrganization)
	var members []citadel.Integration
	for _, a := range accounts {
		m := org.Member(a, "acct "+a, t0)
		if err := f.store.CreateIntegration(context.Background(), m); err != nil {
			f.t.Fatal(err)
		}
		members = append(members, m)
	}
	return org, members
}

func TestCreateOrganizationIntegration(t *testing.T) {
	f := newFixture(t)
	org, _ := f.orgWithMembers()
	want := citadel.Integration{ID: "int-0001", FolderID: testFolder, Name: "Acme", AccountID: "123456789012",
		RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner", ExternalID: "ext-org", Regions: []string{"us-east-1"},
		Frameworks: []string{"cis_2.0"}, ScheduleExpression: "rate(1 day)", Kind: citadel.KindOrganization,
		Organization: &citadel.OrganizationOptions{OUs: []string{"ou-ab12-cdefgh34"}, ExcludeAccounts: []string{"444455556666"}},
		CreatedAt:    t0, UpdatedAt: t0}
	if d := cmp.Diff(want, org); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
	stored, err := f.store.GetIntegration(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, stored); d != "" {
		t.Errorf("stored (-want +got):\n%s", d)
	}

	// Bad organizations: 400 with the reason, nothing stored.
	for name, tt := range map[string]struct{ body, want string }{
		"bad OU":                {`{"name":"x","account_id":"210987654321","role_arn":"arn:aws:iam::210987654321:role/R","frameworks":["cis_2.0"],"kind":"organization","organization":{"ous":["ou-1"]}}`, "organization.ous.0"},
		"options of an account": {`{"name":"x","account_id":"210987654321","frameworks":["cis_2.0"],"organization":{"ous":["r-ab12"]}}`, "only for an integration of kind organization"},
		"unknown kind":          {`{"name":"x","account_id":"210987654321","frameworks":["cis_2.0"],"kind":"folder"}`, "kind"},
		"no role":               {`{"name":"x","account_id":"210987654321","frameworks":["cis_2.0"],"kind":"organization"}`, "needs role_arn"},
		"unknown option":        {`{"name":"x","account_id":"210987654321","frameworks":["cis_2.0"],"kind":"organization","organization":{"accounts":["1"]}}`, "accounts"},
	} {
		t.Run(name, func(t *testing.T) {
			expect(t, f.do("POST", "/integrations", tt.body), http.StatusBadRequest, "invalid", tt.want)
		})
	}
	page, err := f.store.ListIntegrations(context.Background(), testFolder, 10, "")
	if err != nil || len(page.Items) != 1 {
		t.Errorf("integrations after the refusals: %d, %v; want the organization alone", len(page.Items), err)
	}
}

func TestListMembers(t *testing.T) {
	f := newFixture(t)
	org, members := f.orgWithMembers("333344445555", "222233334444")
	rec := f.do("GET", "/integrations/"+org.ID+"/members", "")
	expect(t, rec, http.StatusOK, "", "")
	got := decodeBody[citadel.Page[citadel.Integration]](t, rec)
	want := []citadel.Integration{members[1], members[0]} // by account
	if d := cmp.Diff(want, got.Items); d != "" {
		t.Errorf("members (-want +got):\n%s", d)
	}
	acct := f.createIntegration(`{"name":"dev","account_id":"210987654321","frameworks":["cis_2.0"]}`)
	expect(t, f.do("GET", "/integrations/"+acct.ID+"/members", ""), http.StatusBadRequest, "invalid", "only an integration of kind organization has members")
	expect(t, f.do("GET", "/integrations/int-nope/members", ""), http.StatusNotFound, "not_found", "int-nope")
}

// A member is its organization's syncs' to change: PATCH and DELETE are 409
// naming the organization, and nothing changes.
func TestMemberIsItsOrganizations(t *testing.T) {
	f := newFixture(t)
	org, members := f.orgWithMembers("222233334444")
	m := members[0]
	expect(t, f.do("PATCH", "/integrations/"+m.ID, `{"name":"mine"}`), http.StatusConflict, "conflict", "member of organization integration "+org.ID)
	expect(t, f.do("PATCH", "/integrations/"+m.ID, `{"regions":["eu-west-1"]}`), http.StatusConflict, "conflict", "exclude_accounts")
	expect(t, f.do("DELETE", "/integrations/"+m.ID, ""), http.StatusConflict, "conflict", "cannot be deleted here")
	got, err := f.store.GetIntegration(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m, got); d != "" {
		t.Errorf("member after refusals (-want +got):\n%s", d)
	}
}

func TestUpdateOrganizationOptions(t *testing.T) {
	f := newFixture(t)
	org, _ := f.orgWithMembers()
	rec := f.do("PATCH", "/integrations/"+org.ID, `{"organization":{"ous":["r-ab12"],"include_accounts":["222233334444"],"member_role_name":"audit/Citadel"}}`)
	expect(t, rec, http.StatusOK, "", "")
	want := &citadel.OrganizationOptions{OUs: []string{"r-ab12"}, IncludeAccounts: []string{"222233334444"}, MemberRoleName: "audit/Citadel"}
	if d := cmp.Diff(want, decodeBody[citadel.Integration](t, rec).Organization); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	expect(t, f.do("PATCH", "/integrations/"+org.ID, `{"organization":{"member_role_name":"/lead"}}`), http.StatusBadRequest, "invalid", "member_role_name")
	expect(t, f.do("PATCH", "/integrations/"+org.ID, `{"kind":"account"}`), http.StatusBadRequest, "invalid", "kind")
	acct := f.createIntegration(`{"name":"dev","account_id":"210987654321","frameworks":["cis_2.0"]}`)
	expect(t, f.do("PATCH", "/integrations/"+acct.ID, `{"organization":{"ous":["r-ab12"]}}`), http.StatusBadRequest, "invalid", "only for an integration of kind organization")
	stored, err := f.store.GetIntegration(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, stored.Organization); d != "" {
		t.Errorf("stored options after the refusals (-want +got):\n%s", d)
	}
}

// Deleting an organization deletes its members; a scan of any of them
// refuses the delete before anything changes.
func TestDeleteOrganizationDeletesItsMembers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	org, members := f.orgWithMembers("222233334444", "333344445555")
	busy := citadel.Scan{ID: "scan-busy", IntegrationID: members[1].ID, FolderID: testFolder, Trigger: citadel.TriggerAPI,
		Status: citadel.ScanQueued, CreatedAt: t0}
	if err := f.store.StartScan(ctx, busy); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("DELETE", "/integrations/"+org.ID, ""), http.StatusConflict, "conflict", "scan scan-busy of its member "+members[1].ID)
	for _, id := range []string{org.ID, members[0].ID, members[1].ID} {
		expect(t, f.do("GET", "/integrations/"+id, ""), http.StatusOK, "", "")
	}
	if _, err := f.schedules.Get(ctx, org.ID); err != nil {
		t.Errorf("schedule after a refused delete: %v", err)
	}

	busy.Status, busy.FinishedAt = citadel.ScanSucceeded, t0
	if _, err := f.store.FinishScan(ctx, busy); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("DELETE", "/integrations/"+org.ID, ""), http.StatusNoContent, "", "")
	for _, id := range []string{org.ID, members[0].ID, members[1].ID} {
		expect(t, f.do("GET", "/integrations/"+id, ""), http.StatusNotFound, "not_found", id)
	}
	if _, err := f.schedules.Get(ctx, org.ID); !citadel.IsNotFound(err) {
		t.Errorf("schedule after delete: %v, want not found", err)
	}
	if left, err := f.store.ListMemberIntegrations(ctx, org.ID); err != nil || len(left) != 0 {
		t.Errorf("members listed after delete: %d, %v", len(left), err)
	}
	// Again: harmless, and the members' scans stay readable.
	expect(t, f.do("DELETE", "/integrations/"+org.ID, ""), http.StatusNoContent, "", "")
	expect(t, f.do("GET", "/scans/"+busy.ID, ""), http.StatusOK, "", "")
}
