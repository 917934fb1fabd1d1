// Package oscal writes an export.Dataset as two OSCAL 1.2.2 JSON documents
// (https://pages.nist.gov/OSCAL/): the assessment results of the dataset's
// framework on its scope as of its date (AssessmentResults), and the plan of
// action and milestones for its open failures (POAM).
//
// Both are built from the generated OSCAL 1.2.2 types of
// github.com/defenseunicorns/go-oscal (v0.7.1, package src/types/oscal-1-2-2)
// and are deterministic: every uuid is a UUIDv5 in one fixed Citadel
// namespace (Namespace) over a stable key, every list is sorted, and the
// document's own uuid is a UUIDv5 over a hash of its content (OSCAL asks
// that it change whenever the content does), so the same dataset always
// gives byte-identical documents.
//
// What goes where, in short (docs/exports.md, section "OSCAL", has every
// field):
//
//   - one observation per finding (method TEST, the asset as an
//     inventory-item subject, collected at its scan, the evidence record as
//     relevant-evidence);
//   - one risk per failing or excepted finding (status "open", or
//     "deviation-approved" when an approved exception covers it, with the
//     exception's id, owner and expiry);
//   - one OSCAL finding per assessed framework requirement (target type
//     "objective-id", state "satisfied" or "not-satisfied" from
//     Requirement.Result);
//   - one poam-item per open failure (effective status fail), owned by
//     POAMOptions.Owner (default DefaultOwner; a deployment sets it with
//     EnvPOAMOwner, read by POAMOptionsFromEnv) and due a remediation window
//     (RemediationWindows, overridable per severity by POAMOptions.Windows)
//     after the failure was first seen.
//
// Citadel writes no OSCAL assessment plan or system security plan: the
// results' import-ap and the POA&M's system-id name what stands in for them
// (a back-matter resource describing the continuous assessment, and the
// dataset's scope) rather than pointing at documents that do not exist.
package oscal
