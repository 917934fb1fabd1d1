package oscal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	oscaltypes "github.com/defenseunicorns/go-oscal/src/types/oscal-1-2-2"
)

// Risk statuses (OSCAL 1.2.2 risk-status tokens).
const (
	RiskOpen              = "open"
	RiskDeviationApproved = "deviation-approved"
)

// risk is the risk of a failing or excepted finding: open, or
// deviation-approved when an approved exception covers it (OSCAL's token for
// a deviation from the requirement that has been approved, which an
// exception, Citadel's risk acceptance, is).
func (m *model) risk(f *finding) oscaltypes.Risk {
	status := RiskOpen
	if f.excepted() {
		status = RiskDeviationApproved
	}
	var p props
	p.add("check-id", f.CheckID).add("severity", string(f.Severity)).add("status", string(f.Status)).
		add("asset-arn", f.AssetARN).add("integration-id", f.IntegrationID)
	if f.Muted {
		p.add("muted", "true")
	}
	if !f.FirstSeen.IsZero() {
		p.add("first-seen", stamp(f.FirstSeen))
	}
	r := oscaltypes.Risk{
		UUID:  f.riskUUID(),
		Title: f.label(),
		Description: fmt.Sprintf("Prowler check %s fails on %s (account %s, region %s).",
			code(f.CheckID), code(firstOf(f.AssetARN, f.assetKey)), code(firstOf(f.AccountID, "unknown")), code(firstOf(f.Region, "global"))),
		Statement:           m.riskStatement(f),
		Status:              status,
		Origins:             toolOrigin(),
		RelatedObservations: &[]oscaltypes.RelatedObservation{{ObservationUuid: f.observationUUID()}},
	}
	if d := para(f.Detail); d != "" {
		r.Description += "\n\n" + d
	}
	if f.excepted() {
		p.add("exception-id", f.ExceptionID)
		if x := f.exception; x != nil {
			p.add("exception-owner", x.Owner).add("exception-status", string(x.Status)).add("exception-expires", stamp(x.ExpiresAt))
			r.Description += "\n\n" + exceptionRemarks(x)
			if entry, ok := exceptionLogEntry(x); ok {
				r.RiskLog = &oscaltypes.RiskLog{Entries: []oscaltypes.RiskLogEntry{entry}}
			}
		} else {
			r.Description += "\n\n" + fmt.Sprintf("Excepted by the approved exception %s, which the dataset does not include.", code(f.ExceptionID))
		}
	}
	r.Props = p.list()
	return r
}

// riskStatement says what the failure puts at risk: the check's severity
// and the controls and requirements that rely on it.
func (m *model) riskStatement(f *finding) string {
	s := fmt.Sprintf("Until it is fixed, %s does not meet the %s-severity check %s", code(firstOf(f.AssetARN, f.assetKey)),
		firstOf(string(f.Severity), "unknown"), code(f.CheckID))
	if len(f.Requirements) > 0 {
		s += ", on which the requirement(s) " + codes(f.Requirements) + " of " + text(firstOf(m.ds.Framework.Name, m.ds.Framework.ID)) + " rely"
	}
	if len(f.Controls) > 0 {
		s += " through the control(s) " + codes(f.Controls)
	}
	return s + "."
}

func codes(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = code(s)
	}
	return strings.Join(out, ", ")
}

// exceptionRemarks says who accepted the risk, why and until when.
func exceptionRemarks(x *citadel.Exception) string {
	s := fmt.Sprintf("Risk accepted by the exception %s (status %s), owner %s, expires %s.",
		code(x.ID), x.Status, text(firstOf(x.Owner, "unknown")), stamp(x.ExpiresAt))
	if x.DecidedBy != "" {
		s += fmt.Sprintf(" Approved by %s at %s.", text(x.DecidedBy), stamp(x.DecidedAt))
	}
	if j := para(x.Justification); j != "" {
		s += " Justification: " + j
	}
	return s
}

// exceptionLogEntry is the risk-log entry of an exception's approval: from
// its decision (else its request) to its expiry.
func exceptionLogEntry(x *citadel.Exception) (oscaltypes.RiskLogEntry, bool) {
	start := firstTime(x.DecidedAt, x.RequestedAt)
	if start.IsZero() || checkTime("exception decision", start) != nil || checkTime("exception expiry", x.ExpiresAt) != nil {
		return oscaltypes.RiskLogEntry{}, false
	}
	end := x.ExpiresAt.UTC()
	e := oscaltypes.RiskLogEntry{
		UUID:         stableUUID("risk-log-entry", "exception", x.ID),
		Title:        "Exception " + code(x.ID) + ": risk accepted",
		Start:        start.UTC(),
		StatusChange: RiskDeviationApproved,
		Description:  para(firstOf(x.DecisionNote, x.Justification, "Risk accepted.")),
	}
	if end.After(e.Start) {
		e.End = &end
	}
	return e, true
}

// encode writes doc as indented JSON (no HTML escaping, a final newline),
// first with an empty uuid to take its content hash, then with setUUID's
// uuid set to the content uuid.
func encode(kind string, doc any, setUUID func(string)) ([]byte, error) {
	setUUID("")
	body, err := marshal(doc)
	if err != nil {
		return nil, err
	}
	setUUID(contentUUID(kind, body))
	return marshal(doc)
}

func marshal(doc any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return b.Bytes(), nil
}
