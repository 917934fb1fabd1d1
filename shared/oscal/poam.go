package oscal

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	oscaltypes "github.com/defenseunicorns/go-oscal/src/types/oscal-1-2-2"
)

// RemediationWindows is how many days after a failure was first seen its
// POA&M item is due, by the check's severity. It is data, the one home of
// these numbers: POAMOptions.Windows overrides it per severity for one
// POA&M, and nothing should change it at run time.
var RemediationWindows = map[citadel.Severity]int{
	citadel.SeverityCritical:      15,
	citadel.SeverityHigh:          30,
	citadel.SeverityMedium:        90,
	citadel.SeverityLow:           180,
	citadel.SeverityInformational: 365,
}

// DefaultOwner owns a POA&M's items when no owner is set.
const DefaultOwner = "unassigned"

// EnvPOAMOwner is the environment variable in which a deployment names the
// owner of its POA&M items (a team or person, free text), read by
// POAMOptionsFromEnv where a POA&M is made; unset or blank is DefaultOwner.
const EnvPOAMOwner = citadel.EnvPOAMOwner

// RemediationOwnerRole is the OSCAL role of the owner of the POA&M's items.
const RemediationOwnerRole = "remediation-owner"

// POAMOptions are the choices a POA&M is made with.
type POAMOptions struct {
	// Owner owns every item (metadata party in role RemediationOwnerRole,
	// the items' owner prop, the milestones' responsible role); blank is
	// DefaultOwner.
	Owner string
	// Windows overrides RemediationWindows for the severities it names
	// (days, at least 1); the others keep RemediationWindows'.
	Windows map[citadel.Severity]int
}

// POAMOptionsFromEnv reads POAMOptions from a deployment's environment
// (getenv is os.Getenv outside tests): the owner from EnvPOAMOwner.
func POAMOptionsFromEnv(getenv func(string) string) POAMOptions {
	return POAMOptions{Owner: strings.TrimSpace(getenv(EnvPOAMOwner))}
}

func (o POAMOptions) owner() string { return firstOf(line(o.Owner), DefaultOwner) }

// windows are the remediation windows in force: RemediationWindows with
// o.Windows over it.
func (o POAMOptions) windows() (map[citadel.Severity]int, error) {
	w := maps.Clone(RemediationWindows)
	for _, sev := range slices.Sorted(maps.Keys(o.Windows)) {
		days := o.Windows[sev]
		if _, known := RemediationWindows[sev]; !known {
			return nil, fmt.Errorf("remediation window for %q, which is not a severity", sev)
		}
		if days < 1 {
			return nil, fmt.Errorf("remediation window for %s is %d days: it must be at least 1", sev, days)
		}
		w[sev] = days
	}
	return w, nil
}

// windowFor is the window of a severity; one the windows do not know (none,
// or not Prowler's) gets the shortest in force, never a longer one.
func windowFor(w map[citadel.Severity]int, sev citadel.Severity) int {
	if days, ok := w[sev]; ok {
		return days
	}
	return slices.Min(slices.Collect(maps.Values(w)))
}

// POAM writes ds's open failures (effective status fail: excepted ones,
// muted or not, are not open; a muted failure no exception covers is) as an
// OSCAL 1.2.2 plan of action and milestones
// ({"plan-of-action-and-milestones": {...}}): one poam-item per failing
// check on an asset, owned by opts' owner and due its severity's
// remediation window after the failure was first seen (else scanned), with
// its observation and its risk (deadline, planned remediation with the due
// date as its milestone). OSCAL requires at least one poam-item: with no
// open failure the one item says so. The same dataset and options, in any
// order, always give the same bytes.
func POAM(ds export.Dataset, opts POAMOptions) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("oscal: POA&M of framework %s, %s %s: %w", ds.Framework.ID, ds.Scope.Kind, ds.Scope.ID, err)
	}
	m, err := prepare(ds)
	if err != nil {
		return fail(err)
	}
	windows, err := opts.windows()
	if err != nil {
		return fail(err)
	}
	owner := opts.owner()
	party := stableUUID("party", owner)

	var open []*finding
	for _, f := range m.findings {
		if f.open() {
			open = append(open, f)
		}
	}
	var items []oscaltypes.PoamItem
	var observations []oscaltypes.Observation
	var risks []oscaltypes.Risk
	var resources []oscaltypes.Resource
	for _, f := range open {
		days := windowFor(windows, f.Severity)
		base := firstTime(f.FirstSeen, f.collected).UTC()
		due := base.AddDate(0, 0, days)
		if err := checkTime("due date of "+f.CheckID+" on "+f.assetKey, due); err != nil {
			return fail(err)
		}
		observations = append(observations, observation(f))
		risks = append(risks, m.poamRisk(f, due, days, party))
		items = append(items, m.poamItem(f, owner, due, days))
		if f.evidence != nil {
			resources = append(resources, evidenceResource(*f.evidence))
		}
	}
	if len(items) == 0 {
		items = []oscaltypes.PoamItem{m.noOpenItems()}
	}

	var wp props
	for _, sev := range slices.Sorted(maps.Keys(windows)) {
		wp = append(wp, oscaltypes.Property{Name: "remediation-window-days", Class: string(sev), Value: strconv.Itoa(windows[sev]), Ns: NamespaceURI})
	}
	metaProps := append(*m.metadataProps(), wp...)
	var p props
	p.add("owner", owner)
	ownerRemarks := "Owns every item of this POA&M."
	if owner == DefaultOwner && line(opts.Owner) == "" {
		ownerRemarks = "No owner was set: the deployment names one in " + EnvPOAMOwner + "."
	}
	components := []oscaltypes.SystemComponent{citadelComponent(), m.scopeComponent()}
	poam := &oscaltypes.PlanOfActionAndMilestones{
		Metadata: oscaltypes.Metadata{
			Title:        "Citadel plan of action and milestones: " + m.subjectTitle(),
			LastModified: m.generated,
			Version:      stamp(m.asOf),
			OscalVersion: OSCALVersion,
			Props:        &metaProps,
			Roles: &[]oscaltypes.Role{{ID: RemediationOwnerRole, Title: "Remediation owner",
				Description: "Fixes the open failures of this POA&M by their due dates."}},
			Parties:            &[]oscaltypes.Party{{UUID: party, Type: "organization", Name: owner, Remarks: ownerRemarks}},
			ResponsibleParties: &[]oscaltypes.ResponsibleParty{{RoleId: RemediationOwnerRole, PartyUuids: []string{party}}},
			Remarks: "Generated by Citadel from its export dataset of this framework, scope and date. " +
				"Due dates are the first time each failure was seen plus the remediation window of its check's severity " +
				"(props remediation-window-days, by severity as class).",
		},
		SystemId: &oscaltypes.SystemId{IdentifierType: NamespaceURI + "/scope", ID: string(m.ds.Scope.Kind) + "/" + m.ds.Scope.ID},
		LocalDefinitions: &oscaltypes.PlanOfActionAndMilestonesLocalDefinitions{
			Components:     &components,
			InventoryItems: some(inventoryItems(open)),
			Remarks: "Citadel writes no OSCAL system security plan: the system is the dataset's scope, " +
				"described by the this-system component and named by system-id.",
		},
		Observations: some(observations),
		Risks:        some(risks),
		PoamItems:    items,
	}
	if len(resources) > 0 {
		poam.BackMatter = &oscaltypes.BackMatter{Resources: &resources}
	}
	out, err := encode("plan-of-action-and-milestones", &oscaltypes.OscalCompleteSchema{PlanOfActionAndMilestones: poam},
		func(id string) { poam.UUID = id })
	if err != nil {
		return fail(err)
	}
	return out, nil
}

// poamRisk is the finding's risk with its deadline and planned
// remediation, whose one milestone is the due date.
func (m *model) poamRisk(f *finding, due time.Time, days int, party string) oscaltypes.Risk {
	r := m.risk(f)
	r.Deadline = &due
	task := oscaltypes.Task{
		UUID:             stableUUID("task", f.IntegrationID, f.CheckID, f.assetKey),
		Type:             "milestone",
		Title:            "Check " + code(f.CheckID) + " passes on " + text(firstOf(f.AssetName, f.assetKey)),
		Description:      fmt.Sprintf("A scan finds the check passing on the asset by %s (%d days after %s).", stamp(due), days, stamp(firstTime(f.FirstSeen, f.collected))),
		Timing:           &oscaltypes.EventTiming{OnDate: &oscaltypes.OnDateCondition{Date: due}},
		ResponsibleRoles: &[]oscaltypes.ResponsibleRole{{RoleId: RemediationOwnerRole, PartyUuids: &[]string{party}}},
	}
	r.Remediations = &[]oscaltypes.Response{{
		UUID:        stableUUID("response", f.IntegrationID, f.CheckID, f.assetKey),
		Lifecycle:   "planned",
		Title:       "Remediate: " + f.label(),
		Description: fmt.Sprintf("Fix %s so that Prowler check %s passes on it, by %s.", code(firstOf(f.AssetARN, f.assetKey)), code(f.CheckID), stamp(due)),
		Tasks:       &[]oscaltypes.Task{task},
	}}
	return r
}

// poamItem is the item of one open failure.
func (m *model) poamItem(f *finding, owner string, due time.Time, days int) oscaltypes.PoamItem {
	var p props
	p.add("owner", owner).add("due-date", stamp(due)).add("remediation-window-days", strconv.Itoa(days)).
		add("severity", firstOf(string(f.Severity), "unknown")).add("check-id", f.CheckID).add("asset-arn", f.AssetARN).
		add("integration-id", f.IntegrationID)
	if !f.FirstSeen.IsZero() {
		p.add("first-seen", stamp(f.FirstSeen))
	}
	if f.Muted {
		p.add("muted", "true")
	}
	p.add("overdue", strconv.FormatBool(due.Before(m.asOf)))
	since := "was scanned at " + stamp(f.collected) + " (when it was first seen is not known)"
	if !f.FirstSeen.IsZero() {
		since = "has failed since " + stamp(f.FirstSeen)
	}
	desc := fmt.Sprintf("Prowler check %s (%s) %s on %s in account %s. Severity %s: due %s, %d days later. Owner: %s.",
		code(f.CheckID), text(firstOf(f.CheckTitle, f.CheckID)), since, code(firstOf(f.AssetARN, f.assetKey)),
		code(firstOf(f.AccountID, "unknown")), firstOf(string(f.Severity), "unknown"), stamp(due), days, text(owner))
	if f.Muted {
		desc += " The result is muted in Prowler, but no exception covers it, so it stays open."
	}
	return oscaltypes.PoamItem{
		UUID:                f.poamItemUUID(),
		Title:               f.label(),
		Description:         desc,
		Props:               p.list(),
		Origins:             &[]oscaltypes.PoamItemOrigin{{Actors: []oscaltypes.OriginActor{{Type: "tool", ActorUuid: stableUUID("component", "citadel")}}}},
		RelatedObservations: &[]oscaltypes.RelatedObservation{{ObservationUuid: f.observationUUID()}},
		RelatedRisks:        &[]oscaltypes.AssociatedRisk{{RiskUuid: f.riskUUID()}},
	}
}

// noOpenItems is the one item of a POA&M with no open failure (OSCAL
// requires at least one).
func (m *model) noOpenItems() oscaltypes.PoamItem {
	var p props
	p.add("no-open-items", "true")
	return oscaltypes.PoamItem{
		UUID:  stableUUID("poam-item", "none", m.ds.Framework.ID, string(m.ds.Scope.Kind), m.ds.Scope.ID),
		Title: "No open items",
		Description: fmt.Sprintf("As of %s no check of %s fails on any asset in scope without an approved exception, "+
			"so there is nothing to remediate. OSCAL requires at least one POA&M item: this one records that none is open.",
			stamp(m.asOf), text(firstOf(m.ds.Framework.Name, m.ds.Framework.ID))),
		Props: p.list(),
	}
}
