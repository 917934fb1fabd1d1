package mutelist

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Target is what the exceptions are requested for: the integration and
// its AWS account, who owns the accepted risks and until when, and how
// their justifications start. Source names the file in each
// justification; Now is the time the requests are checked at.
type Target struct {
	IntegrationID       string
	AccountID           string
	Owner               string
	ExpiresAt           time.Time
	JustificationPrefix string
	Source              string
	Now                 time.Time
}

// Action is what becomes of a piece of the mutelist.
type Action string

const (
	// Request: an exception to request (Translate, Dedupe).
	ActionRequest Action = "request"
	// Present: a live exception of the integration has the same check and
	// scope (Dedupe); ExceptionID names it.
	ActionPresent Action = "present"
	// Duplicate: an earlier piece of the file asks for the same exception,
	// or a "*" of the same entry covers it.
	ActionDuplicate Action = "duplicate"
	// OtherAccount: the entry is another account's, not the integration's.
	ActionOtherAccount Action = "other-account"
	// Refused: not importable; Reason says why.
	ActionRefused Action = "refused"
	// Requested and Failed are the importer's: the API made the exception
	// (ExceptionID), or refused it (Reason: its message).
	ActionRequested Action = "requested"
	ActionFailed    Action = "failed"
)

// Piece is one entry of the mutelist, or one of its resources or tags
// (Prowler mutes a finding that matches any of an entry's resources, so
// each is a mute of its own): what becomes of it and why. Resource and Tag
// are the items of the entry the piece is ("" for the whole entry);
// Request is the exception it asks for.
type Piece struct {
	Line        int                       `json:"line"`
	Account     string                    `json:"account"`
	Check       string                    `json:"check"`
	Resource    string                    `json:"resource,omitempty"`
	Tag         string                    `json:"tag,omitempty"`
	Action      Action                    `json:"action"`
	Reason      string                    `json:"reason,omitempty"`
	Request     *citadel.ExceptionRequest `json:"request,omitempty"`
	ExceptionID string                    `json:"exception_id,omitempty"`
}

// regexMeta are the characters that make a regular expression of a
// mutelist item. A '.' is not among them: it matches itself too, so an
// item with dots still matches its literal text (and maybe more).
const regexMeta = `\^$*+?()[]{}|`

var (
	literalCheck  = regexp.MustCompile(`^[A-Za-z0-9_]{1,128}$`)
	literalRegion = regexp.MustCompile(`^[a-z0-9-]+$`)
	digits        = regexp.MustCompile(`^[0-9]+$`)
)

// Translate turns every entry of f into pieces for t's integration, in the
// file's order. Each piece is refused, another account's, or a request
// checked against citadel.RequestException; Dedupe then sets aside those
// already live.
func Translate(f File, t Target) []Piece {
	var out []Piece
	for _, e := range f.Entries {
		out = append(out, translate(e, t)...)
	}
	return out
}

func translate(e Entry, t Target) []Piece {
	whole := Piece{Line: e.Line, Account: e.Account, Check: e.Check}
	refuse := func(format string, a ...any) []Piece {
		whole.Action, whole.Reason = ActionRefused, fmt.Sprintf(format, a...)
		return []Piece{whole}
	}
	if e.Account != "*" && e.Account != t.AccountID {
		whole.Action, whole.Reason = ActionOtherAccount, fmt.Sprintf("account %s's, not integration %s's (account %s)", e.Account, t.IntegrationID, t.AccountID)
		return []Piece{whole}
	}
	check := e.Check
	if strings.HasPrefix(check, "lambda") { // Prowler reads lambda* as awslambda*
		check = "aws" + check
	}
	switch {
	case e.Check == "*":
		return refuse(`check "*" mutes every check: an exception is of one check (list the checks one by one)`)
	case !literalCheck.MatchString(check):
		return refuse("check %q is a pattern (Prowler matches it as a regular expression): an exception is of one check (list the checks one by one)", e.Check)
	case len(e.Regions) == 0:
		return refuse("Regions is empty: the entry mutes nothing")
	case len(e.Resources) == 0:
		return refuse("Resources is empty: the entry mutes nothing")
	}
	if reason := carveoutReason(e.Exceptions, t.AccountID); reason != "" {
		return refuse("%s", reason)
	}
	regions := regionsOf(e.Regions)
	tags := tagsOf(e.Tags)
	star := slices.IndexFunc(e.Resources, func(r string) bool { return r == "*" || r == ".*" })
	var stars []Piece
	if star >= 0 {
		p := whole
		p.Resource = e.Resources[star]
		stars = everyAsset(p, regions, tags, check, e, t)
	}
	covered := slices.ContainsFunc(stars, func(p Piece) bool { return p.Action == ActionRequest })
	var out []Piece
	for i, res := range e.Resources {
		p := whole
		p.Resource = res
		switch {
		case i == star:
			out = append(out, stars...)
		case covered:
			p.Action, p.Reason = ActionDuplicate, fmt.Sprintf("covered by the entry's resource %q", e.Resources[star])
			out = append(out, p)
		default:
			out = append(out, oneAsset(p, regions, tags, check, e, t))
		}
	}
	return out
}

// everyAsset is the pieces of a "*" resource: every asset of the
// integration, or those of each tag the entry names.
func everyAsset(p Piece, regions regionLimit, tags tagSet, check string, e Entry, t Target) []Piece {
	switch {
	case !regions.all:
		p.Action, p.Reason = ActionRefused, fmt.Sprintf("limited to Regions %s: an exception of every asset or of a tag has no region, it would cover every region",
			quoteList(e.Regions))
		return []Piece{p}
	case tags.reason != "":
		p.Action, p.Reason = ActionRefused, tags.reason
		return []Piece{p}
	case len(tags.alts) == 0:
		return []Piece{request(p, check, citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, e, t)}
	}
	out := make([]Piece, 0, len(tags.alts))
	for _, kv := range tags.alts {
		q := p
		q.Tag = kv[0] + "=" + kv[1]
		out = append(out, request(q, check, citadel.ExceptionScope{Kind: citadel.ScopeTag, TagKey: kv[0], TagValue: kv[1]}, e, t))
	}
	return out
}

// oneAsset is the piece of a resource other than "*": one asset, by its
// exact ARN, in a region the entry mutes.
func oneAsset(p Piece, regions regionLimit, tags tagSet, check string, e Entry, t Target) Piece {
	refuse := func(format string, a ...any) Piece {
		p.Action, p.Reason = ActionRefused, fmt.Sprintf(format, a...)
		return p
	}
	asset, region, reason := exactARN(p.Resource, t)
	if reason != "" {
		return refuse("%s", reason)
	}
	switch {
	case len(tags.alts) > 0 || tags.reason != "":
		return refuse("Resources and Tags must both hold: an exception is of one asset or of a tag, not of an asset with a tag")
	case regions.all:
	case regions.pattern:
		return refuse("Regions %s hold a pattern: whether the asset's region is among them is not told here", quoteList(e.Regions))
	case region == "":
		return refuse("limited to Regions %s, and the ARN names no region (a global or S3 resource): an exception has no region, it could cover more than the mute",
			quoteList(e.Regions))
	case !regions.match(region):
		return refuse("the asset is in %s, which Regions %s do not match: the entry never mutes it", region, quoteList(e.Regions))
	}
	return request(p, check, citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: asset}, e, t)
}

// exactARN reads a resource as one asset's ARN of t's account, and its
// region: literal text (or anchored by ^ and $), no pattern.
func exactARN(res string, t Target) (asset, region, reason string) {
	s := strings.TrimSuffix(strings.TrimPrefix(res, "^"), "$")
	switch {
	case strings.ContainsAny(s, regexMeta):
		return "", "", fmt.Sprintf("%q is a pattern (Prowler matches it as a regular expression): an exception names one asset by its exact ARN", res)
	case !strings.HasPrefix(s, "arn:"):
		return "", "", fmt.Sprintf("%q is not an ARN: Prowler matches it anywhere in a finding's resource id; an exception names one asset by its ARN (list the ARNs)", res)
	}
	a, err := arn.Parse(s)
	if err != nil {
		return "", "", fmt.Sprintf("%q is not an ARN: %v", res, err)
	}
	if a.AccountID != "" && a.AccountID != t.AccountID {
		return "", "", fmt.Sprintf("the ARN is of account %s, not integration %s's (account %s)", a.AccountID, t.IntegrationID, t.AccountID)
	}
	return s, a.Region, ""
}

// request is p asking for an exception of check with scope, checked as
// the API will (but for the deployment's maximum expiry); a request the
// domain refuses is a refused piece with its reason.
func request(p Piece, check string, scope citadel.ExceptionScope, e Entry, t Target) Piece {
	r := citadel.ExceptionRequest{IntegrationID: t.IntegrationID, CheckID: check, Scope: scope,
		Justification: justification(e, t), Owner: t.Owner, ExpiresAt: t.ExpiresAt}
	if _, err := citadel.RequestException("exc-import", "fld-import", r, "import", t.Now, citadel.MaxExceptionDaysLimit); err != nil {
		p.Action, p.Reason = ActionRefused, err.Error()
		return p
	}
	p.Action, p.Request = ActionRequest, &r
	return p
}

// justification is the prefix, the entry's Description and where the
// entry is, within the domain's bound (the description is cut).
func justification(e Entry, t Target) string {
	where := fmt.Sprintf("muted in Prowler mutelist %s line %d: account %s, check %s", t.Source, e.Line, e.Account, e.Check)
	prefix := strings.TrimSpace(t.JustificationPrefix)
	if prefix != "" {
		prefix += " "
	}
	text := strings.TrimSpace(e.Description)
	if text == "" {
		return prefix + where
	}
	room := citadel.MaxExceptionJustification - utf8.RuneCountInString(prefix+" ()"+where)
	if r := []rune(text); len(r) > room && room > 1 {
		text = string(r[:room-1]) + "…"
	}
	return prefix + text + " (" + where + ")"
}

// carveoutReason says why an entry's Exceptions make it not importable,
// "" when there are none for account: a block that names accounts, none
// of which is account, never applies to it (Prowler carves out a finding
// only when every list the block has matches it).
func carveoutReason(c Carveouts, account string) string {
	if c.Empty() {
		return ""
	}
	if len(c.Accounts) > 0 {
		applies := false
		for _, a := range c.Accounts {
			applies = applies || !digits.MatchString(a) || strings.Contains(account, a)
		}
		if !applies {
			return ""
		}
	}
	return "its Exceptions carve " + carveoutText(c) + " out of the mute: an exception has no carve-outs, it would cover more than the mute"
}

func carveoutText(c Carveouts) string {
	var parts []string
	for _, l := range []struct {
		name  string
		items []string
	}{{"Accounts", c.Accounts}, {"Regions", c.Regions}, {"Resources", c.Resources}, {"Tags", c.Tags}} {
		if len(l.items) > 0 {
			parts = append(parts, l.name+" "+quoteList(l.items))
		}
	}
	return strings.Join(parts, ", ")
}

// regionLimit is an entry's Regions: all of them ("*"), else the items,
// literal or not.
type regionLimit struct {
	all, pattern bool
	items        []string
}

func regionsOf(items []string) regionLimit {
	var l regionLimit
	for _, r := range items {
		l.all = l.all || r == "*" || r == ".*"
		l.pattern = l.pattern || !literalRegion.MatchString(r)
	}
	l.items = items
	return l
}

// match says whether Prowler's search of a literal item finds it in region.
func (l regionLimit) match(region string) bool {
	for _, r := range l.items {
		if strings.Contains(region, r) {
			return true
		}
	}
	return false
}

// tagSet is an entry's Tags: none (or only "*"), the key=value
// alternatives of its one tag, or the reason it cannot be a tag scope.
type tagSet struct {
	alts   [][2]string
	reason string
}

func tagsOf(items []string) tagSet {
	var tags []string
	for _, t := range items {
		if t != "*" && t != ".*" {
			tags = append(tags, t)
		}
	}
	switch {
	case len(tags) == 0:
		return tagSet{}
	case len(tags) > 1:
		return tagSet{reason: fmt.Sprintf("its Tags %s must all hold: an exception's tag scope is one tag", quoteList(tags))}
	case strings.ContainsAny(tags[0], strings.ReplaceAll(regexMeta, "|", "")):
		return tagSet{reason: fmt.Sprintf("tag %q is a pattern (Prowler matches it as a regular expression): an exception's tag scope is one key with one value", tags[0])}
	}
	var s tagSet
	for _, alt := range strings.Split(tags[0], "|") {
		k, v, ok := strings.Cut(alt, "=")
		switch {
		case !ok || k == "":
			return tagSet{reason: fmt.Sprintf("tag %q is not key=value", alt)}
		case v == "":
			return tagSet{reason: fmt.Sprintf("tag %q has no value: Prowler matches it on any value of the key, an exception's tag scope on one value", alt)}
		}
		s.alts = append(s.alts, [2]string{k, v})
	}
	return s
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Dedupe sets aside the requests of pieces that a live exception of the
// integration (live: requested or approved, and not yet past its expiry at
// now) already makes, and those an earlier piece already asks for.
func Dedupe(pieces []Piece, live []citadel.Exception, now time.Time) {
	type key struct {
		check string
		scope citadel.ExceptionScope
	}
	keyOf := func(check string, s citadel.ExceptionScope) key {
		s.AssetID = ""
		return key{check, s}
	}
	have := map[key]citadel.Exception{}
	for _, e := range live {
		if e.Status.Live() && now.Before(e.ExpiresAt) {
			have[keyOf(e.CheckID, e.Scope)] = e
		}
	}
	asked := map[key]int{}
	for i := range pieces {
		p := &pieces[i]
		if p.Action != ActionRequest {
			continue
		}
		k := keyOf(p.Request.CheckID, p.Request.Scope)
		if e, ok := have[k]; ok {
			p.Action, p.ExceptionID, p.Reason = ActionPresent, e.ID, fmt.Sprintf("already %s as %s", e.Status, e.ID)
		} else if line, ok := asked[k]; ok {
			p.Action, p.Reason = ActionDuplicate, fmt.Sprintf("the same exception as line %d's", line)
		} else {
			asked[k] = p.Line
		}
	}
}

// Summary counts the pieces by action.
type Summary map[Action]int

// Summarize counts pieces by action.
func Summarize(pieces []Piece) Summary {
	s := Summary{}
	for _, p := range pieces {
		s[p.Action]++
	}
	return s
}

// NotImported is how many pieces were refused or failed.
func (s Summary) NotImported() int { return s[ActionRefused] + s[ActionFailed] }
