package citadel

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// An exception (a risk acceptance) says that a check's failing results on
// some assets of one integration are accepted, for a reason, by an owner,
// until a date: requested by one person, approved or rejected by another
// (an auditor or an admin), revocable, and expired by time. Its transitions
// are exceptionstate.go; what it covers is Covers.

// ExceptionStatus is where an exception stands.
type ExceptionStatus string

const (
	ExceptionRequested ExceptionStatus = "requested"
	ExceptionApproved  ExceptionStatus = "approved"
	ExceptionRejected  ExceptionStatus = "rejected"
	ExceptionExpired   ExceptionStatus = "expired"
	ExceptionRevoked   ExceptionStatus = "revoked"
)

// ExceptionStatuses lists every status, the live ones first.
var ExceptionStatuses = []ExceptionStatus{ExceptionRequested, ExceptionApproved, ExceptionRejected, ExceptionExpired, ExceptionRevoked}

// Valid says whether s is one of ExceptionStatuses.
func (s ExceptionStatus) Valid() bool { return slices.Contains(ExceptionStatuses, s) }

// Live says whether an exception of status s can still change: requested
// or approved. Rejected, expired and revoked are final.
func (s ExceptionStatus) Live() bool { return s == ExceptionRequested || s == ExceptionApproved }

// ScopeKind is what an exception covers of its integration.
type ScopeKind string

const (
	ScopeAsset       ScopeKind = "asset"       // one asset (by its ARN)
	ScopeIntegration ScopeKind = "integration" // every asset of the integration
	ScopeTag         ScopeKind = "tag"         // the assets carrying a tag (key and value)
)

// ExceptionScope names the assets an exception covers. AssetID is derived
// (AssetID of the integration and AssetARN): results name their asset by it.
type ExceptionScope struct {
	Kind     ScopeKind `json:"kind"`
	AssetARN string    `json:"asset_arn,omitempty"`
	AssetID  string    `json:"asset_id,omitempty"`
	TagKey   string    `json:"tag_key,omitempty"`
	TagValue string    `json:"tag_value,omitempty"`
}

// Bounds of an exception's texts, in characters (a tag's are AWS's own).
const (
	MaxExceptionJustification = 2000
	MaxExceptionNote          = 1000
	MaxExceptionOwner         = 256
	MaxTagKey                 = 128
	MaxTagValue               = 256
)

// DefaultMaxExceptionDays is how far ahead an exception may expire at most,
// unless the deployment sets another (EnvMaxExceptionDays); MaxExceptionDaysLimit
// bounds that setting.
const (
	DefaultMaxExceptionDays = 365
	MaxExceptionDaysLimit   = 3650
)

// ParseMaxExceptionDays reads a deployment's longest exception: a whole
// number of days from 1 to MaxExceptionDaysLimit; empty is
// DefaultMaxExceptionDays.
func ParseMaxExceptionDays(s string) (int, error) {
	return parseDays(s, "maximum exception days", DefaultMaxExceptionDays, 1)
}

// parseDays reads a whole number of days from least to
// MaxExceptionDaysLimit; empty is def.
func parseDays(s, what string, def, least int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < least || n > MaxExceptionDaysLimit {
		return 0, Invalid("%s %q must be a whole number of days from %d to %d", what, s, least, MaxExceptionDaysLimit)
	}
	return n, nil
}

// DefaultExceptionReminderDays is how long before an approved exception
// expires its reminder ("Exception Expiring") is sent, unless the deployment
// sets another (EnvExceptionReminderDays, 0 to MaxExceptionDaysLimit; 0
// sends none).
const DefaultExceptionReminderDays = 14

// ParseExceptionReminderDays reads a deployment's reminder lead time: a
// whole number of days from 0 (no reminders) to MaxExceptionDaysLimit;
// empty is DefaultExceptionReminderDays.
func ParseExceptionReminderDays(s string) (int, error) {
	return parseDays(s, "exception reminder days", DefaultExceptionReminderDays, 0)
}

// Exception is a risk acceptance of a check's results on assets of one
// integration. DecidedBy, DecidedAt and DecisionNote are the review's
// (approve or reject); History holds every transition, the request first,
// oldest first (at most three: requested, a decision, an end).
type Exception struct {
	ID            string         `json:"id"`
	FolderID      string         `json:"folder_id"`
	IntegrationID string         `json:"integration_id"`
	CheckID       string         `json:"check_id"`
	Scope         ExceptionScope `json:"scope"`
	Justification string         `json:"justification"`
	Owner         string         `json:"owner"`
	RequestedBy   string         `json:"requested_by"`
	RequestedAt   time.Time      `json:"requested_at"`
	// ExpiresAt is stored as Expiry: ExpiresAt is the table's TTL
	// attribute, and time must never delete an exception.
	ExpiresAt    time.Time             `json:"expires_at" dynamo:"Expiry"`
	Status       ExceptionStatus       `json:"status"`
	DecidedBy    string                `json:"decided_by,omitempty"`
	DecidedAt    time.Time             `json:"decided_at,omitzero"`
	DecisionNote string                `json:"decision_note,omitempty"`
	UpdatedAt    time.Time             `json:"updated_at"`
	History      []ExceptionTransition `json:"history"`
	// RemindedAt is when the sweep sent the approved exception's one
	// "Exception Expiring" reminder (zero: not sent).
	RemindedAt time.Time `json:"reminded_at,omitzero" dynamo:",omitempty"`
}

// ExceptionTransition is one change of an exception's status: who, when,
// from ("" for the request) and to, and the note given.
type ExceptionTransition struct {
	From ExceptionStatus `json:"from"`
	To   ExceptionStatus `json:"to"`
	By   string          `json:"by"`
	At   time.Time       `json:"at"`
	Note string          `json:"note,omitempty"`
}

// ExceptionRequest is what a requester asks for (POST /exceptions).
type ExceptionRequest struct {
	IntegrationID string         `json:"integration_id"`
	CheckID       string         `json:"check_id"`
	Scope         ExceptionScope `json:"scope"`
	Justification string         `json:"justification"`
	Owner         string         `json:"owner"`
	ExpiresAt     time.Time      `json:"expires_at"`
}

// RequestException makes exception id of folder folderID from r, requested
// by `by` at now: status requested, the request as its first transition. r
// must be valid and expire after now and at most maxDays ahead (0:
// DefaultMaxExceptionDays); the error names every field at fault.
func RequestException(id, folderID string, r ExceptionRequest, by string, now time.Time, maxDays int) (Exception, error) {
	if maxDays <= 0 {
		maxDays = DefaultMaxExceptionDays
	}
	now = now.UTC()
	e := Exception{ID: id, FolderID: folderID, IntegrationID: r.IntegrationID, CheckID: r.CheckID, Scope: r.Scope,
		Justification: r.Justification, Owner: r.Owner, RequestedBy: by, RequestedAt: now, ExpiresAt: r.ExpiresAt.UTC(),
		Status: ExceptionRequested, UpdatedAt: now,
		History: []ExceptionTransition{{From: "", To: ExceptionRequested, By: by, At: now}}}
	if e.Scope.Kind == ScopeAsset && e.Scope.AssetARN != "" {
		e.Scope.AssetID = AssetID(e.IntegrationID, SourceAWS, e.Scope.AssetARN)
	}
	var errs fieldErrors
	e.check(&errs)
	longest := time.Duration(maxDays) * 24 * time.Hour
	errs.add(!e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now),
		fmt.Sprintf("expires_at %s is not in the future", e.ExpiresAt.Format(time.RFC3339)))
	errs.add(e.ExpiresAt.Sub(now) > longest,
		fmt.Sprintf("expires_at %s is more than %d days ahead (the deployment's maximum: by %s at the latest)",
			e.ExpiresAt.Format(time.RFC3339), maxDays, now.Add(longest).Format(time.RFC3339)))
	return e, errs.err("exception request")
}

// Validate checks a stored exception: the request's fields, a status, and
// a history that starts with the request and follows the state machine to
// the status.
func (e Exception) Validate() error {
	var errs fieldErrors
	e.check(&errs)
	errs.add(!e.Status.Valid(), fmt.Sprintf("status %q is not an exception status", e.Status))
	errs.add(e.RequestedAt.IsZero(), "requested_at is required")
	errs.add(!e.ExpiresAt.IsZero() && !e.RequestedAt.IsZero() && !e.ExpiresAt.After(e.RequestedAt), "expires_at must be after requested_at")
	errs.add(len(e.History) == 0, "history must start with the request")
	for i, h := range e.History {
		if i == 0 {
			errs.add(h.From != "" || h.To != ExceptionRequested || h.By != e.RequestedBy || !h.At.Equal(e.RequestedAt),
				"history must start with the request (\"\" → requested, by requested_by at requested_at)")
			continue
		}
		prev := e.History[i-1]
		errs.add(h.From != prev.To || !legalMove(h.From, h.To), fmt.Sprintf("history[%d]: %s → %s does not follow %s", i, h.From, h.To, prev.To))
		errs.add(h.By == "" || h.At.Before(prev.At), fmt.Sprintf("history[%d] needs who (by) and a time not before the one before", i))
	}
	if n := len(e.History); n > 0 {
		errs.add(e.History[n-1].To != e.Status, fmt.Sprintf("status %s is not where the history ends (%s)", e.Status, e.History[n-1].To))
	}
	return errs.err("exception " + e.ID)
}

// check adds the faults of the fields a request sets (and the ids).
func (e Exception) check(errs *fieldErrors) {
	errs.add(!ValidID(e.ID), fmt.Sprintf("id %q must match %s", e.ID, PatternID))
	errs.add(!ValidID(e.FolderID), fmt.Sprintf("folder_id %q must match %s", e.FolderID, PatternID))
	requireID(errs, "integration_id", e.IntegrationID)
	requireID(errs, "check_id", e.CheckID)
	e.Scope.check(errs, e.IntegrationID)
	requireText(errs, "justification", e.Justification, MaxExceptionJustification)
	requireText(errs, "owner", e.Owner, MaxExceptionOwner)
	errs.add(e.RequestedBy == "", "requested_by is required")
	errs.add(e.ExpiresAt.IsZero(), "expires_at is required")
}

func (s ExceptionScope) check(errs *fieldErrors, integrationID string) {
	asset := s.AssetARN != "" || s.AssetID != ""
	tag := s.TagKey != "" || s.TagValue != ""
	switch s.Kind {
	case ScopeAsset:
		errs.add(s.AssetARN == "", "scope.asset_arn is required for kind asset")
		errs.add(len(s.AssetARN) > MaxAssetARN || strings.ContainsFunc(s.AssetARN, isControl),
			fmt.Sprintf("scope.asset_arn must be at most %d bytes without control characters", MaxAssetARN))
		errs.add(s.AssetARN != "" && s.AssetID != AssetID(integrationID, SourceAWS, s.AssetARN), "scope.asset_id is not the asset id of asset_arn")
		errs.add(tag, "scope.tag_key and tag_value are for kind tag")
	case ScopeIntegration:
		errs.add(asset || tag, "scope of kind integration takes no asset_arn, tag_key or tag_value")
	case ScopeTag:
		errs.add(strings.TrimSpace(s.TagKey) == "", "scope.tag_key is required for kind tag")
		errs.add(utf8.RuneCountInString(s.TagKey) > MaxTagKey, fmt.Sprintf("scope.tag_key is over %d characters", MaxTagKey))
		errs.add(utf8.RuneCountInString(s.TagValue) > MaxTagValue, fmt.Sprintf("scope.tag_value is over %d characters", MaxTagValue))
		errs.add(asset, "scope.asset_arn is for kind asset")
	default:
		errs.add(true, fmt.Sprintf("scope.kind %q must be asset, integration or tag", s.Kind))
	}
}

func requireID(errs *fieldErrors, field, v string) {
	errs.add(v == "", field+" is required")
	errs.add(v != "" && !ValidID(v), fmt.Sprintf("%s %q must match %s", field, v, PatternID))
}

func requireText(errs *fieldErrors, field, v string, most int) {
	errs.add(strings.TrimSpace(v) == "", field+" is required (not blank)")
	errs.add(utf8.RuneCountInString(v) > most, fmt.Sprintf("%s is over %d characters", field, most))
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
