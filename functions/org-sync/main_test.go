package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, syncs an
// organization on moto (its management account and two members) through
// the organization integration's role: two members added, then kept; an
// event that names no integration is refused with the domain error's
// message.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	acct, management, role := testenv.Account(t, cfg)
	orgs := organizations.NewFromConfig(acct)
	if _, err := orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, name := range []string{"prod", "dev"} {
		out, err := orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	now := time.Now().UTC()
	org := citadel.Integration{ID: "int-org", FolderID: "default", Name: "Acme", AccountID: management, Kind: citadel.KindOrganization,
		RoleARN: role, ExternalID: "citadel-test", Regions: []string{"us-east-1"}, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateIntegration(ctx, org); err != nil {
		t.Fatal(err)
	}

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "org-sync"), map[string]string{citadel.EnvTable: table})
	scan := []string{"int-org", citadel.MemberIntegrationID("int-org", accounts[0]), citadel.MemberIntegrationID("int-org", accounts[1])}
	for _, tc := range []struct {
		name string
		want citadel.OrgSyncOutput
	}{
		{"first", citadel.OrgSyncOutput{IntegrationID: "int-org", FolderID: "default", Listed: 3, Added: 2, Scan: scan}},
		{"again", citadel.OrgSyncOutput{IntegrationID: "int-org", FolderID: "default", Listed: 3, Kept: 2, Scan: scan}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := fn.Invoke(ctx, []byte(`{"integration_id":"int-org"}`))
			if err != nil {
				t.Fatal(err)
			}
			var out citadel.OrgSyncOutput
			if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
				t.Fatalf("response = %s", resp.Payload)
			}
			if d := cmp.Diff(tc.want, out, cmpopts.IgnoreFields(citadel.OrgSyncOutput{}, "Usage"), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
		})
	}

	resp, err := fn.Invoke(ctx, []byte(`{"integration_id":"not an id"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "is not an integration id") {
		t.Errorf("bad event: got %s, want a function error", resp.Payload)
	}
}
