package oscal

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	oscaltypes "github.com/defenseunicorns/go-oscal/src/types/oscal-1-2-2"
)

// OSCALVersion is the OSCAL version the documents conform to (the
// generated types' and the schema's).
const OSCALVersion = oscaltypes.Version

// props builds a list of Citadel props (ns NamespaceURI), leaving out empty
// values (OSCAL's string type cannot be empty).
type props []oscaltypes.Property

func (p *props) add(name, value string) *props {
	if v := line(value); v != "" {
		*p = append(*p, oscaltypes.Property{Name: name, Value: v, Ns: NamespaceURI})
	}
	return p
}

func (p *props) addAll(name string, values []string) *props {
	for _, v := range values {
		p.add(name, v)
	}
	return p
}

// core adds a prop of OSCAL's own namespace (no ns), such as asset-id.
func (p *props) core(name, value string) *props {
	if v := line(value); v != "" {
		*p = append(*p, oscaltypes.Property{Name: name, Value: v})
	}
	return p
}

// list is the props, or nil for none (OSCAL lists hold at least one item).
func (p props) list() *[]oscaltypes.Property { return some([]oscaltypes.Property(p)) }

// some is a pointer to s, or nil when s is empty.
func some[T any](s []T) *[]T {
	if len(s) == 0 {
		return nil
	}
	return &s
}

// citadelComponent is the tool every observation comes from: Citadel
// running Prowler's checks.
func citadelComponent() oscaltypes.SystemComponent {
	return oscaltypes.SystemComponent{
		UUID:  stableUUID("component", "citadel"),
		Type:  "software",
		Title: "Citadel",
		Description: "Citadel, the self-hosted continuous-compliance scanner for AWS that made this document: " +
			"it runs Prowler's checks on each integration's AWS account on schedule and records each check's result on each asset.",
		Purpose: "Automated assessment (Prowler checks)",
		Status:  oscaltypes.SystemComponentStatus{State: "operational"},
	}
}

// toolOrigin names Citadel as the origin of an observation or risk.
func toolOrigin() *[]oscaltypes.Origin {
	return &[]oscaltypes.Origin{{Actors: []oscaltypes.OriginActor{{Type: "tool", ActorUuid: stableUUID("component", "citadel")}}}}
}

// scopeComponent is the system assessed: the dataset's scope, with its
// integrations (AWS accounts).
func (m *model) scopeComponent() oscaltypes.SystemComponent {
	var b strings.Builder
	fmt.Fprintf(&b, "The %s %s as Citadel scans it", m.ds.Scope.Kind, code(m.ds.Scope.ID))
	if len(m.ds.Integrations) == 0 {
		b.WriteString(": no integration was in scope.")
	} else {
		b.WriteString(", one AWS account per integration:\n")
		for _, in := range m.ds.Integrations {
			fmt.Fprintf(&b, "\n- %s (%s), account %s", text(firstOf(in.Name, in.ID)), code(in.ID), code(in.AccountID))
			if in.ScanID != "" {
				fmt.Fprintf(&b, ", scan %s at %s", code(in.ScanID), stamp(in.ScannedAt))
			}
		}
	}
	var p props
	p.add("scope-kind", string(m.ds.Scope.Kind)).add("scope-id", m.ds.Scope.ID)
	for _, in := range m.ds.Integrations {
		p.add("integration-id", in.ID)
	}
	return oscaltypes.SystemComponent{
		UUID:        m.scopeComponentUUID(),
		Type:        "this-system",
		Title:       text(fmt.Sprintf("%s %s", m.ds.Scope.Kind, firstOf(m.ds.Scope.ID, "(no id)"))),
		Description: b.String(),
		Props:       p.list(),
		Status:      oscaltypes.SystemComponentStatus{State: "operational"},
	}
}

func (m *model) scopeComponentUUID() string {
	return stableUUID("component", "scope", string(m.ds.Scope.Kind), m.ds.Scope.ID)
}

// inventoryItems are the assets of the findings fs, one per asset (by
// ARN), in asset order.
func inventoryItems(fs []*finding) []oscaltypes.InventoryItem {
	byKey := map[string]*finding{}
	var keys []string
	for _, f := range fs {
		if _, ok := byKey[f.assetKey]; !ok {
			byKey[f.assetKey] = f
			keys = append(keys, f.assetKey)
		}
	}
	keys = sortedStrings(keys)
	items := make([]oscaltypes.InventoryItem, 0, len(keys))
	for _, k := range keys {
		f := byKey[k]
		var p props
		p.core("asset-id", firstOf(f.AssetARN, f.assetKey))
		p.add("asset-name", f.AssetName).add("aws-resource-type", f.AssetType).add("account-id", f.AccountID).add("region", f.Region)
		desc := fmt.Sprintf("AWS resource %s", code(firstOf(f.AssetARN, f.AssetName, k)))
		if f.AssetType != "" {
			desc += fmt.Sprintf(" (%s)", code(f.AssetType))
		}
		if f.AccountID != "" {
			desc += " in account " + code(f.AccountID)
		}
		if f.Region != "" {
			desc += ", region " + code(f.Region)
		}
		items = append(items, oscaltypes.InventoryItem{UUID: f.subjectUUID(), Description: desc + ".", Props: p.list()})
	}
	return items
}

// observation is what Citadel saw of one finding: one check on one asset
// as of one scan.
func observation(f *finding) oscaltypes.Observation {
	types := []string{"control-objective"}
	if f.open() || f.excepted() {
		types = append(types, "finding")
	}
	var p props
	p.add("check-id", f.CheckID).add("severity", string(f.Severity)).add("status", string(f.Status)).
		add("prowler-status", string(f.ProwlerStatus))
	if f.Muted {
		p.add("muted", "true")
	}
	p.add("exception-id", f.ExceptionID).add("integration-id", f.IntegrationID).add("account-id", f.AccountID).
		add("region", f.Region).add("scan-id", f.ScanID)
	if !f.FirstSeen.IsZero() {
		p.add("first-seen", stamp(f.FirstSeen))
	}
	p.addAll("control", f.Controls).addAll("requirement", f.Requirements)

	desc := fmt.Sprintf("Prowler check %s (%s) on %s: %s", code(f.CheckID), text(firstOf(f.CheckTitle, f.CheckID)),
		code(firstOf(f.AssetARN, f.assetKey)), statusText(f.Finding))
	if d := para(f.Detail); d != "" {
		desc += "\n\n" + d
	}
	o := oscaltypes.Observation{
		UUID:        f.observationUUID(),
		Title:       f.label(),
		Description: desc,
		Methods:     []string{"TEST"},
		Types:       &types,
		Origins:     toolOrigin(),
		Subjects: &[]oscaltypes.SubjectReference{{
			SubjectUuid: f.subjectUUID(), Type: "inventory-item", Title: text(firstOf(f.AssetName, f.assetKey)),
		}},
		Collected: f.collected,
		Props:     p.list(),
	}
	if ev := f.evidence; ev != nil {
		var ep props
		ep.add("evidence-id", ev.Evidence.ID).add("evidence-status", string(ev.Evidence.Status)).
			add("revision-count", strconv.Itoa(len(ev.Revisions))).add("latest-hash", latestHash(*ev))
		o.RelevantEvidence = &[]oscaltypes.RelevantEvidence{{
			Href: "#" + evidenceResourceUUID(ev.Evidence.ID),
			Description: fmt.Sprintf("Citadel evidence record %s (%s): %d revision(s) in a SHA-256 hash chain, latest hash %s; status %s.",
				code(ev.Evidence.ID), text(ev.Evidence.Name), len(ev.Revisions), code(firstOf(latestHash(*ev), "none")), ev.Evidence.Status),
			Props: ep.list(),
		}}
	}
	return o
}

// statusText says a finding's effective status in words.
func statusText(f export.Finding) string {
	switch f.Status {
	case citadel.StatusPass:
		return "passed."
	case citadel.StatusFail:
		if f.Muted {
			return "failed (muted in Prowler, but no exception covers it, so it stays open)."
		}
		return "failed."
	case citadel.StatusExcepted:
		return fmt.Sprintf("failed, excepted by the approved exception %s.", code(f.ExceptionID))
	case citadel.StatusError:
		return "the check errored (no result)."
	case citadel.StatusNotApplicable:
		return "not applicable (Prowler: manual)."
	}
	return fmt.Sprintf("status %s.", code(string(f.Status)))
}

func latestHash(ev export.EvidenceRecord) string {
	if n := len(ev.Revisions); n > 0 {
		return ev.Revisions[n-1].Hash
	}
	return ev.Evidence.LatestHash
}

func evidenceResourceUUID(evidenceID string) string {
	return stableUUID("resource", "evidence", evidenceID)
}

// evidenceResource is a back-matter resource describing an evidence record
// with its revision chain and review history: the hashes that let an
// auditor check the record (GET /evidence/{id} of the deployment's API, or
// the auditor's package) against this document.
func evidenceResource(ev export.EvidenceRecord) oscaltypes.Resource {
	e := ev.Evidence
	var p props
	p.add("evidence-id", e.ID).add("evidence-status", string(e.Status)).add("result-status", string(e.ResultStatus)).
		add("integration-id", e.SourceIntegration).add("check-id", e.CheckID).add("asset-arn", e.AssetSourceID).
		add("exception-id", e.ExceptionID).add("revision-count", strconv.Itoa(len(ev.Revisions))).
		add("latest-hash", latestHash(ev)).add("review-count", strconv.Itoa(len(ev.Reviews))).add("latest-review-hash", e.LatestReviewHash)
	if e.ReviewedBy != "" {
		p.add("reviewed-by", e.ReviewedBy)
	}
	if !e.ReviewedAt.IsZero() {
		p.add("reviewed-at", stamp(e.ReviewedAt))
	}
	for _, r := range ev.Revisions {
		remark := fmt.Sprintf("Revision %d, scan %s, recorded %s; content hash %s, previous hash %s.",
			r.Number, code(firstOf(r.ScanID, "none")), stamp(r.CreatedAt), code(r.ContentHash), code(firstOf(r.PrevHash, "none")))
		if r.Exception != nil {
			remark += fmt.Sprintf(" Records exception %s (%s, applies: %t).", code(r.Exception.ID), r.Exception.Status, r.Exception.Applies)
		}
		if r.Hash != "" {
			p = append(p, oscaltypes.Property{Name: "revision-hash", Value: r.Hash, Ns: NamespaceURI,
				Group: "revision-" + strconv.Itoa(r.Number), Remarks: remark})
		}
	}
	for _, r := range ev.Reviews {
		if r.Hash != "" {
			p = append(p, oscaltypes.Property{Name: "review-hash", Value: r.Hash, Ns: NamespaceURI,
				Group: "review-" + strconv.Itoa(r.Number),
				Remarks: fmt.Sprintf("Review %d: %s by %s at %s, of revision %d. %s",
					r.Number, r.Decision, text(r.By), stamp(r.At), r.Revision, para(r.Comment))})
		}
	}
	return oscaltypes.Resource{
		UUID:  evidenceResourceUUID(e.ID),
		Title: text(firstOf(e.Name, e.ID)),
		Description: fmt.Sprintf("Citadel evidence record %s: the continuous audit record of check %s on %s in integration %s. "+
			"Each revision's hash is SHA-256(previous hash, content hash), so any edit breaks every later link; "+
			"the reviews form a hash chain of their own, anchored in the revisions. "+
			"The record with its full content is GET /evidence/%s of the deployment's API.",
			code(e.ID), code(e.CheckID), code(firstOf(e.AssetSourceID, e.AssetName)), code(e.SourceIntegration), e.ID),
		Props: p.list(),
	}
}

// metadataProps are the props both documents' metadata carry.
func (m *model) metadataProps() *[]oscaltypes.Property {
	var p props
	p.add("framework-id", m.ds.Framework.ID).add("framework-version", m.ds.Framework.Version).
		add("scope-kind", string(m.ds.Scope.Kind)).add("scope-id", m.ds.Scope.ID).add("as-of", stamp(m.asOf))
	return p.list()
}

// subjectTitle names the framework and scope in a title.
func (m *model) subjectTitle() string {
	fw := text(firstOf(m.ds.Framework.Name, m.ds.Framework.ID))
	if v := text(m.ds.Framework.Version); v != "" && !strings.Contains(fw, v) {
		fw += " " + v
	}
	return fmt.Sprintf("%s, %s %s, as of %s", fw, m.ds.Scope.Kind, text(firstOf(m.ds.Scope.ID, "(no id)")), day(m.asOf))
}
