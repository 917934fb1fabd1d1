package orgsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// Organizations is what the sync reads of AWS Organizations
// (*organizations.Client), through the organization integration's role.
type Organizations interface {
	organizations.ListRootsAPIClient
	organizations.ListAccountsAPIClient
	organizations.ListAccountsForParentAPIClient
	organizations.ListChildrenAPIClient
}

// Account is an account as Organizations lists it.
type Account struct {
	ID   string
	Name string
	// State is its life-cycle state (ACTIVE, SUSPENDED, PENDING_CLOSURE,
	// CLOSED, PENDING_ACTIVATION): the API's State, or, where an answer
	// has none, its older Status (retired by AWS in September 2026).
	State string
}

// AccountOf reads an account of an Organizations answer.
func AccountOf(a types.Account) Account {
	state := string(a.State)
	if state == "" {
		state = string(a.Status)
	}
	return Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), State: state}
}

// Active reports whether an account can be a member: only an ACTIVE one
// (a suspended, closing, closed or not yet activated account has nothing a
// role can scan; an account whose state is unknown is not taken for active).
func (a Account) Active() bool { return a.State == string(types.AccountStateActive) }

// Selection is the listed accounts, sorted out.
type Selection struct {
	// Listed counts the accounts listed, each once.
	Listed int
	// Members are the active accounts the options keep, sorted by id.
	Members []Account
	// Inactive and Excluded count the other listed accounts.
	Inactive, Excluded int
	// Unlisted are included accounts Organizations did not list in the
	// scope (not in the organization, or not under its OUs).
	Unlisted []string
}

// Select sorts listed accounts (duplicates, an account under two OUs
// given, count once) by the options: not active, excluded, or a member.
func Select(listed []Account, o citadel.OrganizationOptions) Selection {
	var s Selection
	seen := map[string]bool{}
	for _, a := range listed {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		s.Listed++
		switch {
		case !a.Active():
			s.Inactive++
		case !o.Selects(a.ID):
			s.Excluded++
		default:
			s.Members = append(s.Members, a)
		}
	}
	slices.SortFunc(s.Members, func(a, b Account) int { return cmp.Compare(a.ID, b.ID) })
	for _, id := range o.IncludeAccounts {
		if !seen[id] {
			s.Unlisted = append(s.Unlisted, id)
		}
	}
	return s
}

// lister lists the accounts of an organization's scope, page by page.
type lister struct {
	c     Organizations
	limit *int32 // nil: the service's page size
}

// accounts lists the accounts in scope: the whole organization
// (ListAccounts) without OUs or with its root, else each OU's and every
// OU's below it (ListAccountsForParent, ListChildren), each OU once.
func (l lister) accounts(ctx context.Context, ous []string) ([]Account, error) {
	root, err := l.root(ctx, ous)
	if err != nil {
		return nil, err
	}
	if len(ous) == 0 || root {
		all, err := l.all(ctx)
		if err == nil && len(all) == 0 {
			// Never so in AWS (the management account is always listed):
			// taken as is, it would archive every member.
			return nil, citadel.Invalid("organizations: the organization lists no account, not even its management account; " +
				"is the role's account the management or a delegated administrator account of an organization?")
		}
		return all, err
	}
	var out []Account
	queue, seen := slices.Clone(ous), map[string]bool{}
	for len(queue) > 0 {
		ou := queue[0]
		queue = queue[1:]
		if seen[ou] {
			continue
		}
		seen[ou] = true
		got, err := l.ofParent(ctx, ou)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		children, err := l.childOUs(ctx, ou)
		if err != nil {
			return nil, err
		}
		queue = append(queue, children...)
	}
	return out, nil
}

// root reports whether ous names the organization's root, which must then
// be this organization's (one ListRoots); without a root id it asks nothing.
func (l lister) root(ctx context.Context, ous []string) (bool, error) {
	if !slices.ContainsFunc(ous, citadel.IsRootID) {
		return false, nil
	}
	out, err := l.c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return false, orgErr(err, "list the organization's roots")
	}
	var ids []string
	for _, r := range out.Roots {
		ids = append(ids, aws.ToString(r.Id))
	}
	for _, ou := range ous {
		if citadel.IsRootID(ou) && !slices.Contains(ids, ou) {
			return false, citadel.Invalid("organization.ous: %s is not this organization's root (%s)", ou, strings.Join(ids, ", "))
		}
	}
	return true, nil
}

func (l lister) all(ctx context.Context) ([]Account, error) {
	var out []Account
	p := organizations.NewListAccountsPaginator(l.c, &organizations.ListAccountsInput{MaxResults: l.limit})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, orgErr(err, "list the organization's accounts")
		}
		for _, a := range page.Accounts {
			out = append(out, AccountOf(a))
		}
	}
	return out, nil
}

func (l lister) ofParent(ctx context.Context, parent string) ([]Account, error) {
	var out []Account
	p := organizations.NewListAccountsForParentPaginator(l.c, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent), MaxResults: l.limit})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, orgErr(err, "list the accounts of "+parent)
		}
		for _, a := range page.Accounts {
			out = append(out, AccountOf(a))
		}
	}
	return out, nil
}

func (l lister) childOUs(ctx context.Context, parent string) ([]string, error) {
	var out []string
	p := organizations.NewListChildrenPaginator(l.c, &organizations.ListChildrenInput{ParentId: aws.String(parent),
		ChildType: types.ChildTypeOrganizationalUnit, MaxResults: l.limit})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, orgErr(err, "list the OUs under "+parent)
		}
		for _, c := range page.Children {
			out = append(out, aws.ToString(c.Id))
		}
	}
	return out, nil
}

// notInOrganization are the codes of an OU or root the organization lacks.
var notInOrganization = []string{"ParentNotFoundException", "OrganizationalUnitNotFoundException"}

// orgErr classifies an Organizations failure: an OU the organization lacks
// is invalid input (the integration's options); throttling, a transient
// failure (Organizations' ServiceException among them) or a cancelled
// context are retryable; the rest (access denied, the account is no
// management or delegated administrator account) stay as they are, wrapped.
func orgErr(err error, what string) error {
	var api smithy.APIError
	if errors.As(err, &api) && slices.Contains(notInOrganization, api.ErrorCode()) {
		return citadel.Invalid("organization.ous: %s: not in the organization (%s)", what, api.ErrorCode())
	}
	err = fmt.Errorf("organizations: %s: %w", what, err)
	var re interface{ RetryableError() bool }
	switch {
	case errors.As(err, &re) && re.RetryableError(), awsx.IsThrottle(err),
		errors.As(err, &api) && api.ErrorCode() == "ServiceException",
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return citadel.Retryable(err)
	}
	return err
}
