package citadel

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// LinkAction is what a user's correction does to a check → SCF link.
type LinkAction string

const (
	LinkAdd    LinkAction = "add"
	LinkRemove LinkAction = "remove"
)

// PatternSCFID is the shape of an SCF control id (CRY-05, IAC-06.1); the
// API's scf_id path parameter repeats it.
const PatternSCFID = `^[A-Z]{2,4}-[0-9]{2}(\.[0-9]{1,3})*$`

var scfIDRe = regexp.MustCompile(PatternSCFID)

// ValidSCFID reports whether s is shaped like an SCF control id.
func ValidSCFID(s string) bool { return scfIDRe.MatchString(s) }

// MaxCorrectionReason bounds a correction's reason, in characters.
const MaxCorrectionReason = 1000

// LinkCorrection is a user's manual correction of a check's SCF links: add a
// link the import did not make, or remove one it made. It is kept apart from
// the imported links, so a re-import or a Prowler upgrade never touches it;
// one correction per check and SCF control, the last one wins.
type LinkCorrection struct {
	CheckID string     `json:"check_id"`
	SCFID   string     `json:"scf_id"`
	Action  LinkAction `json:"action"`
	Reason  string     `json:"reason"`
	By      string     `json:"by"`
	At      time.Time  `json:"at"`
}

// Validate checks a correction: ids, an action, a reason (required, at most
// MaxCorrectionReason characters) and who made it.
func (c LinkCorrection) Validate() error {
	var errs fieldErrors
	errs.add(c.CheckID == "", "check_id is required")
	errs.add(c.SCFID == "", "scf_id is required")
	errs.add(c.SCFID != "" && !ValidSCFID(c.SCFID), fmt.Sprintf("scf_id %q is not an SCF control id (%s)", c.SCFID, PatternSCFID))
	errs.add(c.Action != LinkAdd && c.Action != LinkRemove, fmt.Sprintf("action %q must be add or remove", c.Action))
	errs.add(strings.TrimSpace(c.Reason) == "", "reason is required")
	errs.add(utf8.RuneCountInString(c.Reason) > MaxCorrectionReason, fmt.Sprintf("reason is over %d characters", MaxCorrectionReason))
	errs.add(c.By == "", "by is required")
	return errs.err("link correction " + c.CheckID + " → " + c.SCFID)
}

// LinkOrigin says where an effective link comes from.
type LinkOrigin string

const (
	// LinkImported: the catalog import's framework join (its frameworks,
	// requirements and score explain it).
	LinkImported LinkOrigin = "imported"
	// LinkManual: a user's correction added it.
	LinkManual LinkOrigin = "manual"
)

// EffectiveLink is a check → SCF link as scans use it, with its origin and
// a one-line explanation. Rank is the effective rank: manual links first.
// Correction is the user's correction that added it (manual links only).
type EffectiveLink struct {
	CheckSCFLink
	Origin      LinkOrigin      `json:"origin"`
	Explanation string          `json:"explanation"`
	Correction  *LinkCorrection `json:"correction,omitempty"`
}

// EffectiveLinks are the links scans use: the imported links minus the
// removed ones plus the added ones, per check. A check's manual links come
// first (by SCF id), then its remaining imported links in their rank order;
// ranks are renumbered 1..n. A link both imported and added is manual and
// keeps its frameworks, requirements and score. Of several corrections of
// one check and control, the latest (by At, then by position) wins. The
// result is ordered by check id, then rank.
func EffectiveLinks(imported []CheckSCFLink, corrections []LinkCorrection) []EffectiveLink {
	type pair struct{ check, scf string }
	last := map[pair]LinkCorrection{}
	for _, c := range corrections {
		k := pair{c.CheckID, c.SCFID}
		if prev, ok := last[k]; !ok || !c.At.Before(prev.At) {
			last[k] = c
		}
	}
	byCheck := map[string][]CheckSCFLink{}
	importedOf := map[pair]CheckSCFLink{}
	for _, l := range imported {
		byCheck[l.CheckID] = append(byCheck[l.CheckID], l)
		importedOf[pair{l.CheckID, l.SCFID}] = l
	}
	added := map[string][]LinkCorrection{}
	for _, c := range last {
		if c.Action == LinkAdd {
			added[c.CheckID] = append(added[c.CheckID], c)
		}
		if _, ok := byCheck[c.CheckID]; !ok {
			byCheck[c.CheckID] = nil
		}
	}
	var out []EffectiveLink
	for _, check := range slices.Sorted(maps.Keys(byCheck)) {
		rank := 0
		adds := added[check]
		slices.SortFunc(adds, func(a, b LinkCorrection) int { return cmp.Compare(a.SCFID, b.SCFID) })
		for _, c := range adds {
			rank++
			l := importedOf[pair{check, c.SCFID}]
			l.CheckID, l.SCFID, l.Rank = check, c.SCFID, rank
			corr := c
			out = append(out, EffectiveLink{CheckSCFLink: l, Origin: LinkManual, Explanation: explainManual(c), Correction: &corr})
		}
		links := byCheck[check]
		slices.SortFunc(links, func(a, b CheckSCFLink) int { return cmp.Compare(a.Rank, b.Rank) })
		for _, l := range links {
			if _, corrected := last[pair{check, l.SCFID}]; corrected {
				continue // added (above) or removed
			}
			rank++
			l.Rank = rank
			out = append(out, EffectiveLink{CheckSCFLink: l, Origin: LinkImported, Explanation: explainImported(l)})
		}
	}
	return out
}

// Links are the effective links without their origins.
func Links(effective []EffectiveLink) []CheckSCFLink {
	out := make([]CheckSCFLink, len(effective))
	for i, e := range effective {
		out[i] = e.CheckSCFLink
	}
	return out
}

func explainManual(c LinkCorrection) string {
	return fmt.Sprintf("manual: added by %s on %s: %s", c.By, c.At.UTC().Format(time.DateOnly), c.Reason)
}

func explainImported(l CheckSCFLink) string {
	if len(l.Frameworks) == 0 {
		return fmt.Sprintf("imported: no framework path; the check's text matches the control's statement (relevance %.2f); score %.2f",
			l.Relevance, l.Score)
	}
	rel := ""
	if l.Relevance > 0 { // links imported before the ranking have none
		rel = fmt.Sprintf("text relevance %.2f; ", l.Relevance)
	}
	return fmt.Sprintf("imported: frameworks %s; requirements %s; %sscore %.2f",
		listOrNone(l.Frameworks), listOrNone(l.Requirements), rel, l.Score)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
