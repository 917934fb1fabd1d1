package orgsync

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Changes are what a sync has to look at: accounts in scope with no listed
// member (create one, or find it archived or just made), listed members in
// scope (keep or update), listed members out of scope (archive).
type Changes struct {
	Create  []Account
	Check   []citadel.Integration
	Archive []citadel.Integration
	// Names are the accounts' names in Organizations, by account id: a
	// member renamed there is renamed here (Check).
	Names map[string]string
	// Own: the organization integration's own account is in scope. It
	// holds that account in the folder, so it gets no member: it is
	// scanned itself.
	Own bool
}

// Plan compares the accounts in scope (Selection.Members) with the listed
// members of organization integration org, by account.
func Plan(org citadel.Integration, inScope []Account, members []citadel.Integration) Changes {
	c := Changes{Names: map[string]string{}}
	byAccount := map[string]citadel.Integration{}
	for _, m := range members {
		byAccount[m.AccountID] = m
	}
	scoped := map[string]bool{}
	for _, a := range inScope {
		if strings.TrimSpace(a.Name) != "" {
			c.Names[a.ID] = a.Name
		}
		switch m, ok := byAccount[a.ID]; {
		case a.ID == org.AccountID:
			c.Own = true
		case ok:
			scoped[a.ID] = true
			c.Check = append(c.Check, m)
		default:
			c.Create = append(c.Create, a)
		}
	}
	for _, m := range members {
		if !scoped[m.AccountID] {
			c.Archive = append(c.Archive, m)
		}
	}
	return c
}

// outcome is what the sync did for one account.
type outcome int

const (
	added outcome = iota + 1
	restored
	updated
	kept
	archived
	refused
)

// result is one account's outcome; integration is the member's id, problem
// why it was refused.
type result struct {
	outcome     outcome
	account     string
	integration string
	problem     string
}

// create makes account a's member, or finds it: created by an earlier or a
// concurrent run (kept or updated), archived earlier (restored), or refused
// when another integration of the folder has the account.
func (h *Handler) create(ctx context.Context, org citadel.Integration, a Account, now time.Time) (result, error) {
	m := org.Member(a.ID, a.Name, now)
	err := h.Store.CreateIntegration(ctx, m)
	if err == nil {
		return result{outcome: added, account: a.ID, integration: m.ID}, nil
	}
	if !citadel.IsConflict(err) {
		return result{}, fmt.Errorf("create member %s of account %s: %w", m.ID, a.ID, err)
	}
	rec, archivedAt, gerr := h.Store.GetIntegrationRecord(ctx, m.ID)
	switch {
	case citadel.IsNotFound(gerr):
		// Not ours: the account's claim in the folder is another's.
		return result{outcome: refused, account: a.ID, problem: err.Error()}, nil
	case gerr != nil:
		return result{}, fmt.Errorf("read member %s of account %s: %w", m.ID, a.ID, gerr)
	case rec.ParentID != org.ID:
		return result{outcome: refused, account: a.ID, integration: m.ID,
			problem: fmt.Sprintf("integration %s is not a member of %s (its parent is %q)", m.ID, org.ID, rec.ParentID)}, nil
	case !archivedAt.IsZero():
		back := named(org.Inherit(rec), a.Name)
		back.UpdatedAt = now
		if rerr := h.Store.RestoreIntegration(ctx, back); citadel.IsConflict(rerr) {
			return result{outcome: refused, account: a.ID, integration: m.ID, problem: rerr.Error()}, nil
		} else if rerr != nil {
			return result{}, fmt.Errorf("restore member %s of account %s: %w", m.ID, a.ID, rerr)
		}
		return result{outcome: restored, account: a.ID, integration: m.ID}, nil
	}
	return h.check(ctx, org, rec, a.Name, now)
}

// check keeps a live member as it is, or rewrites what it inherits when the
// organization changed it, and its name when its account was renamed in
// Organizations (name; "" keeps the member's).
func (h *Handler) check(ctx context.Context, org citadel.Integration, m citadel.Integration, name string, now time.Time) (result, error) {
	next := named(org.Inherit(m), name)
	if org.Inherits(m) && next.Name == m.Name {
		return result{outcome: kept, account: m.AccountID, integration: m.ID}, nil
	}
	next.UpdatedAt = now
	err := h.Store.UpdateIntegration(ctx, next)
	switch {
	case citadel.IsNotFound(err):
		// Archived (deleted) since it was listed: left so; the next sync
		// restores it.
		return result{outcome: refused, account: m.AccountID, integration: m.ID,
			problem: fmt.Sprintf("member %s was deleted while the sync updated it; the next sync restores it", m.ID)}, nil
	case err != nil:
		return result{}, fmt.Errorf("update member %s of account %s: %w", m.ID, m.AccountID, err)
	}
	return result{outcome: updated, account: m.AccountID, integration: m.ID}, nil
}

// named is member m named after its account's name in Organizations, when
// it has one.
func named(m citadel.Integration, name string) citadel.Integration {
	if strings.TrimSpace(name) != "" {
		m.Name = name
	}
	return m
}

// archive deletes a member whose account is out of scope, as the API
// deletes an integration: its contribution to its folder's controls is
// removed, then its record archived (ddb's ArchiveIntegration). A member a
// queued or running scan holds is refused, and left as it is, before
// anything changes; removing the contribution first means a retry of a
// sync that failed in between still finds the member listed, and redoes
// both.
func (h *Handler) archive(ctx context.Context, m citadel.Integration, now time.Time) (result, error) {
	refuse := func(why string) (result, error) {
		return result{outcome: refused, account: m.AccountID, integration: m.ID, problem: why}, nil
	}
	sc, err := h.Store.RunningScan(ctx, m.ID)
	switch {
	case err == nil:
		return refuse(fmt.Sprintf("member %s is out of scope but scan %s is %s: it is archived by a sync after the scan ends", m.ID, sc.ID, sc.Status))
	case !citadel.IsNotFound(err):
		return result{}, fmt.Errorf("running scan of member %s: %w", m.ID, err)
	}
	if _, err := h.Store.RemoveIntegrationFromControls(ctx, m.FolderID, m.ID, now); err != nil {
		return result{}, fmt.Errorf("remove member %s from the controls of folder %s: %w", m.ID, m.FolderID, err)
	}
	err = h.Store.ArchiveIntegration(ctx, m.ID, now)
	switch {
	case citadel.IsConflict(err):
		return refuse(err.Error())
	case err != nil:
		return result{}, fmt.Errorf("archive member %s of account %s: %w", m.ID, m.AccountID, err)
	}
	return result{outcome: archived, account: m.AccountID, integration: m.ID}, nil
}

// tally adds the results up into out: counts, the problems (sorted by
// account, the first MaxOrgSyncProblems), the integrations to scan (sorted).
func tally(out *citadel.OrgSyncOutput, results []result) {
	var problems []citadel.OrgSyncProblem
	for _, r := range results {
		switch r.outcome {
		case added:
			out.Added++
		case restored:
			out.Restored++
		case updated:
			out.Updated++
		case kept:
			out.Kept++
		case archived:
			out.Archived++
		case refused:
			out.Refused++
			problems = append(problems, citadel.OrgSyncProblem{AccountID: r.account, IntegrationID: r.integration, Reason: r.problem})
		}
		if r.outcome == added || r.outcome == restored || r.outcome == updated || r.outcome == kept {
			out.Scan = append(out.Scan, r.integration)
		}
	}
	slices.SortFunc(problems, func(a, b citadel.OrgSyncProblem) int {
		return cmp.Or(strings.Compare(a.AccountID, b.AccountID), strings.Compare(a.IntegrationID, b.IntegrationID))
	})
	if len(problems) > citadel.MaxOrgSyncProblems {
		problems = problems[:citadel.MaxOrgSyncProblems]
	}
	out.Problems = problems
	slices.Sort(out.Scan)
}
