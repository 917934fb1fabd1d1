package ddb

import (
	"fmt"
	"strings"
	"time"
)

// Every key of the table is built here and nowhere else. Key parts are joined
// with '#'; ids never contain '#' (citadel.ValidID), ARNs and requirement refs
// may, which is harmless because they are always the last part of a key or
// are followed by a fixed-width part.

// Item types: the Type attribute of every item.
const (
	TypeFolder             = "Folder"
	TypeIntegration        = "Integration"
	TypeAccountClaim       = "AccountClaim"
	TypeScan               = "Scan"
	TypeScanLock           = "ScanLock"
	TypeAsset              = "Asset"
	TypeRelationship       = "AssetRelationship"
	TypeCoverage           = "SyncCoverage"
	TypeCheck              = "SecurityCheck"
	TypeFramework          = "Framework"
	TypeRequirement        = "RequirementNode"
	TypeSCFControl         = "SCFControl"
	TypeCheckSCFLink       = "CheckSCFLink"
	TypeLinkCorrection     = "LinkCorrection"
	TypeSCFMapping         = "SCFFrameworkMapping"
	TypeReferenceControl   = "ReferenceControl"
	TypeRefControlSCF      = "ReferenceControlSCFMapping"
	TypeCatalogVersion     = "CatalogVersion"
	TypeAppliedControl     = "AppliedControl"
	TypeControlRequirement = "ControlRequirementMapping"
	TypeControlLink        = "ControlLink"
	TypeAssessment         = "RequirementAssessment"
	TypeResult             = "CheckResult"
	TypeResultHistory      = "CheckResultHistory"
	TypeScanDigest         = "ScanDigest"
	TypeScanStep           = "ScanStep"
	TypeShardDurations     = "ShardDurations"
	TypeEvidence           = "Evidence"
	TypeEvidenceRevision   = "EvidenceRevision"
	TypeEvidenceReview     = "EvidenceReview"
	TypeException          = "Exception"
	TypeExceptionExpiry    = "ExceptionExpiry"
	TypeExport             = "Export"
)

// Key is an item's primary key.
type Key struct {
	PK string `dynamo:"PK,hash"`
	SK string `dynamo:"SK,range"`
}

// HashKey and RangeKey make Key a dynamo.Keyed for batch deletes.
func (k Key) HashKey() any  { return k.PK }
func (k Key) RangeKey() any { return k.SK }

// GSIKey is the partition and sort key of an item in a GSI.
type GSIKey struct{ PK, SK string }

func join(parts ...string) string { return strings.Join(parts, "#") }

// --- tenancy ---------------------------------------------------------------

func folderKey(id string) Key                     { return Key{join("FOLDER", id), "FOLDER"} }
func foldersGSI(id string) GSIKey                 { return GSIKey{foldersPK(), id} }
func foldersPK() string                           { return "FOLDERS" } // every folder, by id
func integrationKey(id string) Key                { return Key{join("INTEG", id), "INTEG"} }
func integrationsOfFolderPK(folder string) string { return join("FOLDER", folder, "INTEGS") }

// A member integration of an organization (ParentID set) is also in its
// organization's GSI2 partition, by account: sparse, only members carry it,
// and an archived member leaves it (ArchiveIntegration writes no GSI keys).
func membersOfOrgGSI(orgID, accountID string) GSIKey { return GSIKey{membersOfOrgPK(orgID), accountID} }
func membersOfOrgPK(orgID string) string             { return join("INTEG", orgID, "MEMBERS") }

// An account has at most one integration per folder: the claim item names
// it, written in one transaction with the integration.
func accountClaimKey(folder, account string) Key {
	return Key{join("FOLDER", folder, "ACCOUNT", account), "ACCOUNT"}
}

// A claim is also in its account's GSI1 partition, by folder: an
// account's integrations across folders (the re-check buffer's lookup of a
// change event's account).
func claimsOfAccountGSI(account, folder string) GSIKey {
	return GSIKey{claimsOfAccountPK(account), folder}
}
func claimsOfAccountPK(account string) string { return join("ACCOUNT", account, "CLAIMS") }

// Scans live in their integration's partition, ordered by id (time-ordered),
// so "newest first" is a descending query; GSI1 finds a scan by id.
func scanKey(integrationID, scanID string) Key {
	return Key{join("INTEG", integrationID), join("SCAN", scanID)}
}
func scanSKPrefix() string             { return "SCAN#" }
func scanByIDGSI(scanID string) GSIKey { return GSIKey{join("SCAN", scanID), "SCAN"} }

// The running scan of an integration: one lock item, created with the scan
// in a transaction and deleted when the scan finishes.
func scanLockKey(integrationID string) Key { return Key{join("INTEG", integrationID), "RUNNING"} }

// --- inventory ---------------------------------------------------------------

func assetKey(integrationID, arn string) Key {
	return Key{join("INTEG", integrationID), join("ASSET", arn)}
}
func assetSKPrefix() string { return "ASSET#" }

// Active assets are also in a sparse GSI1 partition, removed on deactivation.
func activeAssetsGSI(integrationID, arn string) GSIKey {
	return GSIKey{join("INTEG", integrationID, "ACTIVE"), arn}
}
func activeAssetsPK(integrationID string) string { return join("INTEG", integrationID, "ACTIVE") }

// Edges: outgoing in the integration's partition, incoming through GSI1.
func relationshipKey(integrationID, from string, kind, to string) Key {
	return Key{join("INTEG", integrationID), join("REL", from, kind, to)}
}
func relationshipsFromPrefix(from string) string { return join("REL", from) + "#" }
func relationshipsSKPrefix() string              { return "REL#" }
func relationshipToGSI(integrationID, to, kind, from string) GSIKey {
	return GSIKey{join("INTEG", integrationID, "RELTO", to), join(kind, from)}
}
func relationshipsToPK(integrationID, to string) string {
	return join("INTEG", integrationID, "RELTO", to)
}

// Coverage: when each (service, region) of an integration last synced.
func coverageKey(integrationID, service, region string) Key {
	return Key{join("INTEG", integrationID), join("COVERAGE", service, region)}
}
func coverageSKPrefix() string { return "COVERAGE#" }

// --- catalog -------------------------------------------------------------------

func checkKey(id string) Key     { return Key{join("CHECK", id), "CHECK"} }
func checksGSI(id string) GSIKey { return GSIKey{"CHECKS", id} }

// Checks with mapped requirements and not deprecated: a sparse GSI2 partition.
func mappedChecksGSI(id string) GSIKey { return GSIKey{"CHECKS#MAPPED", id} }

func frameworkKey(id string) Key     { return Key{join("FW", id), "FW"} }
func frameworksGSI(id string) GSIKey { return GSIKey{"FRAMEWORKS", id} }

func requirementKey(frameworkID, refID string) Key {
	return Key{join("FW", frameworkID), join("REQ", refID)}
}
func requirementSKPrefix() string { return "REQ#" }

func scfControlKey(id string) Key     { return Key{join("SCF", id), "SCF"} }
func scfControlsGSI(id string) GSIKey { return GSIKey{"SCFS", id} }

// A check's SCF links sort by rank (best first); GSI1 gives the checks of an SCF control.
func checkSCFLinkKey(checkID string, rank int, scfID string) Key {
	return Key{join("CHECK", checkID), join("SCFLINK", fmt.Sprintf("%03d", rank), scfID)}
}
func checkSCFLinkSKPrefix() string { return "SCFLINK#" }
func checksOfSCFGSI(scfID, checkID string) GSIKey {
	return GSIKey{join("SCF", scfID, "CHECKS"), checkID}
}

// Every check→SCF link is also in one GSI2 partition, so the importer can
// compare the stored links with the new ones in a few queries.
func allSCFLinksGSI(checkID string, rank int, scfID string) GSIKey {
	return GSIKey{"SCFLINKS", join(checkID, fmt.Sprintf("%03d", rank), scfID)}
}
func allSCFLinksPK() string { return "SCFLINKS" }

// A user's correction of a check's SCF links, one per check and SCF control,
// lives in the check's partition apart from the imported links (SCFLINK#), so
// the import's diff never reads or deletes it; GSI2 holds every correction
// for the controls step.
func linkCorrectionKey(checkID, scfID string) Key {
	return Key{join("CHECK", checkID), join("LINKFIX", scfID)}
}
func linkCorrectionSKPrefix() string { return "LINKFIX#" }
func allLinkCorrectionsGSI(checkID, scfID string) GSIKey {
	return GSIKey{"LINKFIXES", join(checkID, scfID)}
}
func allLinkCorrectionsPK() string { return "LINKFIXES" }

func scfMappingKey(scfID, requirementID string) Key {
	return Key{join("SCF", scfID), join("MAP", requirementID)}
}
func scfMappingSKPrefix() string { return "MAP#" }
func scfOfRequirementGSI(requirementID, scfID string) GSIKey {
	return GSIKey{join("REQ", requirementID, "SCF"), scfID}
}

// Every SCF mapping is also in one GSI2 partition (the importer's diff).
func allSCFMappingsGSI(scfID, requirementID string) GSIKey {
	return GSIKey{"SCFMAPS", join(scfID, requirementID)}
}
func allSCFMappingsPK() string { return "SCFMAPS" }

func referenceControlKey(id string) Key     { return Key{join("REFCTL", id), "REFCTL"} }
func referenceControlsGSI(id string) GSIKey { return GSIKey{"REFCTLS", id} }
func refControlSCFKey(refID, scfID string) Key {
	return Key{join("REFCTL", refID), join("SCF", scfID)}
}
func templatesOfSCFGSI(scfID, refID string) GSIKey {
	return GSIKey{join("SCF", scfID, "TEMPLATES"), refID}
}
func refControlSCFSKPrefix() string { return "SCF#" }

func catalogVersionKey() Key { return Key{"CATALOG", "VERSION"} }

// --- controls ------------------------------------------------------------------

// Controls are found by id; ids derive from their dedup keys
// (citadel.AppliedControlIDForSCF ...), so each dedup key is a GetItem.
func controlKey(id string) Key { return Key{join("CTL", id), "CTL"} }
func controlsOfFolderGSI(folderID, refID string) GSIKey {
	return GSIKey{join("FOLDER", folderID, "CTLS"), refID}
}

// Control ↔ requirement: in the control's partition; GSI1 by folder and
// framework, sorted by requirement then control.
func controlRequirementKey(controlID, requirementID string) Key {
	return Key{join("CTL", controlID), join("REQ", requirementID)}
}
func controlRequirementSKPrefix() string { return "REQ#" }
func requirementControlsGSI(folderID, frameworkID, refID, controlID string) GSIKey {
	return GSIKey{join("FOLDER", folderID, "FW", frameworkID), join(refID, controlID)}
}

// Control → asset, check or evidence; GSI1 gives the controls of the target.
func controlLinkKey(controlID, kind, targetID string) Key {
	return Key{join("CTL", controlID), join("LINK", kind, targetID)}
}
func controlLinkSKPrefix(kind string) string { return join("LINK", kind) + "#" }
func linkTargetGSI(kind, targetID, controlID string) GSIKey {
	return GSIKey{join("LINKED", kind, targetID), controlID}
}

func assessmentKey(id string) Key { return Key{join("RA", id), "RA"} }
func assessmentsOfFolderGSI(folderID, frameworkID, refID string) GSIKey {
	return GSIKey{join("FOLDER", folderID, "RA", frameworkID), refID}
}

// --- results ---------------------------------------------------------------------

// The current result of (integration, check, asset) is one item in its
// integration's results partition, sorted by check and asset: listing them
// is a table query and no index holds a copy (a first scan writes each
// result once). Its history is in the result's own partition, by id.
func resultKey(integrationID, checkID, assetID string) Key {
	return Key{resultsOfIntegrationPK(integrationID), join(checkID, assetID)}
}
func resultsOfIntegrationPK(integrationID string) string {
	return join("INTEG", integrationID, "RESULTS")
}

// resultsOfCheckSKPrefix is the sort-key prefix of a check's current
// results ('#' sorts before every character of a check id, so the ranges of
// distinct checks are in key order and never overlap).
func resultsOfCheckSKPrefix(checkID string) string { return join(checkID, "") }

// Prowler names every check <service>_..., so the current results of a
// service's checks are a prefix of the results' sort key.
func resultsOfServiceSKPrefix(service string) string { return service + "_" }

// resultOfKey is the (integration, check, asset) a current result's key
// names: the item stores them nowhere else.
func resultOfKey(k Key) (integrationID, checkID, assetID string, err error) {
	rest, okP := strings.CutPrefix(k.PK, join("INTEG", ""))
	integrationID, okS := strings.CutSuffix(rest, join("", "RESULTS"))
	checkID, assetID, ok := resultOfSK(k.SK)
	if !okP || !okS || integrationID == "" || !ok {
		return "", "", "", fmt.Errorf("%s / %s is not the key of a current result", k.PK, k.SK)
	}
	return integrationID, checkID, assetID, nil
}

// resultOfSK splits a current result's sort key (<check>#<asset>).
func resultOfSK(sk string) (checkID, assetID string, ok bool) {
	checkID, assetID, ok = strings.Cut(sk, "#")
	return checkID, assetID, ok && checkID != "" && assetID != ""
}

// A result's history: RES#<result id> / HIST#<scan id>.
func resultHistoryPK(resultID string) string { return join("RES", resultID) }
func resultHistoryKey(resultID, scanID string) Key {
	return Key{resultHistoryPK(resultID), join("HIST", scanID)}
}
func resultHistorySKPrefix() string { return "HIST#" }

// A scan's digest: the compact list of every (check, asset, status) the scan
// produced, in numbered chunks, so "results of scan X" never needs a write
// per unchanged result.
func scanDigestKey(scanID string, chunk int) Key {
	return Key{join("SCAN", scanID), join("DIGEST", fmt.Sprintf("%05d", chunk))}
}
func scanDigestSKPrefix() string { return "DIGEST#" }

// A scan digest's head (check list, chunk index, the step's counts) and the
// integration's pointer to its latest complete digest: the base the next
// scan compares against.
func scanDigestHeadKey(scanID string) Key { return Key{join("SCAN", scanID), "DIGEST"} }
func latestDigestKey(integrationID string) Key {
	return Key{join("INTEG", integrationID), "RESULTS#DIGEST"}
}

// A scan's steps as they run (the step contract, shared/stepfn): one item a
// step, numbered in pipeline order so a query returns them in order.
func scanStepKey(scanID string, order int, step string) Key {
	return Key{join("SCAN", scanID), join("STEP", fmt.Sprintf("%02d", order), step)}
}
func scanStepSKPrefix() string { return "STEP#" }

// How far an interrupted check-results run got writing a scan's changes.
func scanProgressKey(scanID string) Key { return Key{join("SCAN", scanID), "PROGRESS"} }

// The measured durations of an integration's Prowler shard units, from its
// last scan that ran each (citadel.ShardDurations): one item, read by plan.
func shardDurationsKey(integrationID string) Key {
	return Key{join("INTEG", integrationID), "SHARDTIMES"}
}

// --- evidence --------------------------------------------------------------------

func evidenceKey(id string) Key { return Key{join("EVID", id), "EVID"} }
func evidenceOfFolderGSI(folderID string, status, id string) GSIKey {
	return GSIKey{join("FOLDER", folderID, "EVID"), join(status, id)}
}
func evidenceRevisionKey(evidenceID string, n int) Key {
	return Key{join("EVID", evidenceID), join("REV", fmt.Sprintf("%08d", n))}
}
func evidenceRevisionSKPrefix() string { return "REV#" }

// An evidence record's reviews, oldest first, in its partition apart from
// its revisions (REVIEW# does not begin with REV#).
func evidenceReviewKey(evidenceID string, n int) Key {
	return Key{join("EVID", evidenceID), join("REVIEW", fmt.Sprintf("%08d", n))}
}
func evidenceReviewSKPrefix() string { return "REVIEW#" }

// --- exceptions ------------------------------------------------------------------

// An exception is found by id. GSI1 lists an integration's exceptions by
// status, then check (the controls step reads approved#<check>#), GSI2 a
// folder's by status (the review queue: requested#); both move with the
// status, since every transition rewrites the item.
func exceptionKey(id string) Key { return Key{join("EXC", id), "EXC"} }
func exceptionsOfIntegrationGSI(integrationID, status, checkID, id string) GSIKey {
	return GSIKey{exceptionsOfIntegrationPK(integrationID), join(status, checkID, id)}
}
func exceptionsOfIntegrationPK(integrationID string) string {
	return join("INTEG", integrationID, "EXCS")
}
func exceptionsOfFolderGSI(folderID, status, id string) GSIKey {
	return GSIKey{exceptionsOfFolderPK(folderID), join(status, id)}
}
func exceptionsOfFolderPK(folderID string) string { return join("FOLDER", folderID, "EXCS") }

// exceptionSKPrefix is the sort-key prefix of a status's range in those
// partitions, or of a status and a check's (status#check#).
func exceptionSKPrefix(parts ...string) string { return join(parts...) + "#" }

// While an exception is live (requested or approved) an expiry entry stands
// for it in its status's partition, sorted by the time it expires, so
// "approved exceptions expiring before T" is one range of one partition
// (the sweep's query) with no Scan. It moves with the status in the
// transaction of each transition.
func exceptionExpiryKey(status string, expiresAt time.Time, id string) Key {
	return Key{exceptionExpiryPK(status), join(expiryTime(expiresAt), id)}
}
func exceptionExpiryPK(status string) string { return join("EXCS", status, "EXPIRY") }

// expiryTime is a time in UTC at a fixed width, so the strings sort as the
// times do: everything of an instant before T sorts before expiryTime(T).
func expiryTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// --- exports ---------------------------------------------------------------------

// An export job is found by id; GSI1 lists the deployment's exports, newest
// first (one partition: a few a day, each kept ExportRetention by TTL).
func exportKey(id string) Key { return Key{join("EXPORT", id), "EXPORT"} }
func exportsGSI(createdAt time.Time, id string) GSIKey {
	return GSIKey{exportsPK, join(expiryTime(createdAt), id)}
}

const exportsPK = "EXPORTS"
