package oscal

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
)

// model is a dataset made ready for writing: sorted copies of its lists
// (the caller's dataset is never changed), its findings with what every
// document needs of them, and the lookups between them.
type model struct {
	ds        export.Dataset
	generated time.Time
	asOf      time.Time
	findings  []*finding
	// controlIDs maps a requirement's ref id to its OSCAL control id
	// (controlID).
	controlIDs map[string]string
}

// finding is one dataset finding with its keys and what it links to.
type finding struct {
	export.Finding
	// assetKey names the asset: its ARN, or (no ARN) the integration and
	// the asset's name.
	assetKey  string
	collected time.Time
	exception *citadel.Exception
	evidence  *export.EvidenceRecord
}

// open reports whether the finding is an open failure: effective status
// fail (a muted failure no exception covers stays open).
func (f *finding) open() bool { return f.Status == citadel.StatusFail }

// excepted reports whether an approved exception covers the failure.
func (f *finding) excepted() bool { return f.Status == citadel.StatusExcepted }

func (f *finding) observationUUID() string {
	return stableUUID("observation", f.IntegrationID, f.CheckID, f.ScanID, f.assetKey)
}
func (f *finding) riskUUID() string {
	return stableUUID("risk", f.IntegrationID, f.CheckID, f.assetKey)
}
func (f *finding) poamItemUUID() string {
	return stableUUID("poam-item", f.IntegrationID, f.CheckID, f.assetKey)
}
func (f *finding) subjectUUID() string { return stableUUID("inventory-item", f.assetKey) }

// label is how text names the finding: the check's title (else its id) on
// the asset's name (else its key).
func (f *finding) label() string {
	return text(firstOf(f.CheckTitle, f.CheckID)) + " on " + text(firstOf(f.AssetName, f.assetKey))
}

// prepare checks ds and makes its model.
func prepare(ds export.Dataset) (*model, error) {
	m := &model{generated: ds.Generated.UTC(), asOf: ds.AsOf.UTC()}
	if ds.Generated.IsZero() {
		return nil, fmt.Errorf("oscal: dataset has no generated time")
	}
	if m.asOf.IsZero() {
		m.asOf = m.generated
	}
	if err := checkTime("generated", m.generated); err != nil {
		return nil, err
	}
	if err := checkTime("as_of", m.asOf); err != nil {
		return nil, err
	}
	if ds.Framework.ID == "" {
		return nil, fmt.Errorf("oscal: dataset has no framework id")
	}
	m.ds = sortedDataset(ds)

	exceptions := map[string]*citadel.Exception{}
	for i := range m.ds.Exceptions {
		exceptions[m.ds.Exceptions[i].ID] = &m.ds.Exceptions[i]
	}
	type evKey struct{ integration, check, asset string }
	evidence := map[evKey]*export.EvidenceRecord{}
	for i := range m.ds.Evidence {
		e := m.ds.Evidence[i].Evidence
		k := evKey{e.SourceIntegration, e.CheckID, e.AssetSourceID}
		if _, dup := evidence[k]; !dup {
			evidence[k] = &m.ds.Evidence[i]
		}
	}
	scans := map[string]time.Time{}
	for _, in := range m.ds.Integrations {
		scans[in.ID] = in.ScannedAt
	}

	seen := map[string]bool{}
	for _, src := range m.ds.Findings {
		f := &finding{Finding: src}
		f.assetKey = f.AssetARN
		if f.assetKey == "" {
			f.assetKey = "no-arn/" + f.IntegrationID + "/" + firstOf(f.AssetName, "unnamed")
		}
		key := f.IntegrationID + "\x00" + f.CheckID + "\x00" + f.assetKey
		if seen[key] {
			return nil, fmt.Errorf("oscal: two findings of check %s on asset %s in integration %s", f.CheckID, f.assetKey, f.IntegrationID)
		}
		seen[key] = true
		// collected: the finding's scan time, else its integration's scan,
		// else the dataset's date (no earlier time is known).
		f.collected = firstTime(f.ScannedAt, scans[f.IntegrationID], m.asOf).UTC()
		if err := checkTime("scanned_at of "+f.CheckID+" on "+f.assetKey, f.collected); err != nil {
			return nil, err
		}
		if !f.FirstSeen.IsZero() {
			if err := checkTime("first_seen of "+f.CheckID+" on "+f.assetKey, f.FirstSeen); err != nil {
				return nil, err
			}
		}
		if f.ExceptionID != "" {
			f.exception = exceptions[f.ExceptionID]
		}
		f.evidence = evidence[evKey{f.IntegrationID, f.CheckID, f.AssetARN}]
		m.findings = append(m.findings, f)
	}

	m.controlIDs = map[string]string{}
	owner := map[string]string{}
	for _, r := range m.ds.Requirements {
		id := controlID(r.RefID)
		if id == "" {
			return nil, fmt.Errorf("oscal: requirement with an empty ref id")
		}
		if prev, ok := owner[id]; ok && prev != r.RefID {
			return nil, fmt.Errorf("oscal: requirements %q and %q both map to OSCAL control id %q", prev, r.RefID, id)
		}
		owner[id], m.controlIDs[r.RefID] = r.RefID, id
	}
	return m, nil
}

// sortedDataset is a copy of ds with every list sorted (the lists inside
// its items too), so that no output depends on the order ds came in.
func sortedDataset(ds export.Dataset) export.Dataset {
	out := ds
	out.Integrations = slices.SortedFunc(slices.Values(ds.Integrations), func(a, b export.Integration) int {
		return cmp.Compare(a.ID, b.ID)
	})
	out.Findings = nil
	for _, f := range ds.Findings {
		f.Controls, f.Requirements = sortedStrings(f.Controls), sortedStrings(f.Requirements)
		out.Findings = append(out.Findings, f)
	}
	slices.SortFunc(out.Findings, func(a, b export.Finding) int {
		return cmp.Or(cmp.Compare(a.IntegrationID, b.IntegrationID), cmp.Compare(a.CheckID, b.CheckID),
			cmp.Compare(a.AssetARN, b.AssetARN), cmp.Compare(a.AssetName, b.AssetName))
	})
	out.Controls = nil
	for _, c := range ds.Controls {
		c.Checks, c.Requirements = sortedStrings(c.Checks), sortedStrings(c.Requirements)
		out.Controls = append(out.Controls, c)
	}
	slices.SortFunc(out.Controls, func(a, b export.Control) int {
		return cmp.Or(cmp.Compare(a.RefID, b.RefID), cmp.Compare(a.ID, b.ID))
	})
	out.Requirements = nil
	for _, r := range ds.Requirements {
		r.Controls = sortedStrings(r.Controls)
		out.Requirements = append(out.Requirements, r)
	}
	slices.SortFunc(out.Requirements, func(a, b export.Requirement) int { return cmp.Compare(a.RefID, b.RefID) })
	out.Evidence = nil
	for _, e := range ds.Evidence {
		e.Revisions = slices.SortedFunc(slices.Values(e.Revisions), func(a, b citadel.EvidenceRevision) int {
			return cmp.Compare(a.Number, b.Number)
		})
		e.Reviews = slices.SortedFunc(slices.Values(e.Reviews), func(a, b citadel.EvidenceReview) int {
			return cmp.Compare(a.Number, b.Number)
		})
		out.Evidence = append(out.Evidence, e)
	}
	slices.SortFunc(out.Evidence, func(a, b export.EvidenceRecord) int { return cmp.Compare(a.Evidence.ID, b.Evidence.ID) })
	out.Exceptions = slices.SortedFunc(slices.Values(ds.Exceptions), func(a, b citadel.Exception) int {
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func sortedStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// tokenPattern is OSCAL's TokenDatatype (an XML NCName).
var tokenPattern = regexp.MustCompile(`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`)

// controlID is the OSCAL control id (a token) of a framework requirement's
// ref id: the ref id itself when it is a token ("CC6.1", "A.5.1"), else
// "req-" and the ref id with every character a token cannot hold replaced
// by "_" ("1.1" → "req-1.1", "3.4 (a)" → "req-3.4__a_"). The ref id itself
// is always kept beside it (prop requirement-ref-id). Two ref ids of one
// dataset that map to one control id are an error (prepare).
func controlID(refID string) string {
	if refID == "" || tokenPattern.MatchString(refID) {
		return refID
	}
	var b strings.Builder
	b.WriteString("req-")
	for _, r := range refID {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || r == '.' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// checkTime rejects a time OSCAL's date-time pattern cannot hold (years 1900
// to 2999 only; a zero time is year 1).
func checkTime(what string, t time.Time) error {
	if y := t.UTC().Year(); y < 1900 || y > 2999 {
		return fmt.Errorf("oscal: %s %s is outside the years OSCAL's date-time allows (1900-2999)", what, t.UTC().Format(time.RFC3339))
	}
	return nil
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// line is s on one line with no leading, trailing or repeated whitespace,
// as OSCAL's string and markup-line types require.
func line(s string) string { return strings.Join(strings.Fields(s), " ") }

// text is s on one line (line) with Markdown's special characters escaped,
// for OSCAL's markup types: names such as "<root_account>" must read as
// written, not as HTML or emphasis.
func text(s string) string { return markdownEscaper.Replace(line(s)) }

// para is s, trimmed, with Markdown's special characters escaped (line
// breaks kept), for a paragraph of free text such as a check's detail.
func para(s string) string { return markdownEscaper.Replace(strings.TrimSpace(s)) }

var markdownEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `&`, `\&`)

// code is s as a Markdown code span (ids and ARNs in markup text).
func code(s string) string {
	s = line(s)
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
func day(t time.Time) string   { return t.UTC().Format(time.DateOnly) }
