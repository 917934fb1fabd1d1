package oscal

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	arnProdLogs   = "arn:aws:s3:::prod-logs"
	arnProdRoot   = "arn:aws:iam::111111111111:root"
	arnStageVM    = "arn:aws:ec2:eu-west-1:222222222222:instance/i-0abc123def4567890"
	arnStageWeb   = "arn:aws:s3:::stage-assets"
	arnStageTrail = "arn:aws:cloudtrail:eu-west-1:222222222222:trail/main"
	arnStageRoot  = "arn:aws:iam::222222222222:root"
)

// fixture is a realistic dataset: SOC 2 on a folder of two integrations,
// with passing, failing (one muted), excepted (one muted), errored and
// not-applicable findings; requirements satisfied, not satisfied and not
// covered; two approved exceptions with owners and expiries; an evidence
// record with two revisions and a review.
func fixture() export.Dataset {
	prodScan, stageScan := at("2025-03-02T04:00:00Z"), at("2025-03-01T04:00:00Z")
	prod := func(f export.Finding) export.Finding {
		f.IntegrationID, f.AccountID, f.ScanID, f.ScannedAt = "int-prod", "111111111111", "scan-prod-0042", prodScan
		return f
	}
	stage := func(f export.Finding) export.Finding {
		f.IntegrationID, f.AccountID, f.ScanID, f.ScannedAt = "int-stage", "222222222222", "scan-stage-0017", stageScan
		return f
	}
	findings := []export.Finding{
		prod(export.Finding{CheckID: "s3_bucket_public_access", CheckTitle: "Ensure S3 buckets are not publicly accessible",
			Severity: citadel.SeverityHigh, AssetARN: arnProdLogs, AssetName: "prod-logs", AssetType: "AwsS3Bucket", Region: "eu-west-1",
			Status: citadel.StatusFail, ProwlerStatus: citadel.StatusFail, Detail: "S3 Bucket prod-logs has public access through its bucket policy.",
			FirstSeen: at("2025-02-10T04:00:00Z"), Controls: []string{"AC-01"}, Requirements: []string{"CC6.1"}}),
		prod(export.Finding{CheckID: "s3_bucket_default_encryption", CheckTitle: "Check if S3 buckets have default encryption (SSE) enabled",
			Severity: citadel.SeverityMedium, AssetARN: arnProdLogs, AssetName: "prod-logs", AssetType: "AwsS3Bucket", Region: "eu-west-1",
			Status: citadel.StatusPass, ProwlerStatus: citadel.StatusPass, Detail: "S3 Bucket prod-logs has Server Side Encryption with aws:kms.",
			FirstSeen: at("2024-11-02T04:00:00Z"), Controls: []string{"CR-01"}, Requirements: []string{"CC6.7"}}),
		prod(export.Finding{CheckID: "iam_root_mfa_enabled", CheckTitle: "Ensure MFA is enabled for the root account",
			Severity: citadel.SeverityCritical, AssetARN: arnProdRoot, AssetName: "<root_account>", AssetType: "AwsIamUser", Region: "us-east-1",
			Status: citadel.StatusExcepted, ProwlerStatus: citadel.StatusFail, ExceptionID: "exc-root-mfa",
			Detail: "MFA is not enabled for root account.", FirstSeen: at("2025-01-20T04:00:00Z"),
			Controls: []string{"AC-01"}, Requirements: []string{"CC6.1"}}),
		prod(export.Finding{CheckID: "guardduty_is_enabled", CheckTitle: "Check if GuardDuty is enabled",
			Severity: citadel.SeverityMedium, AssetARN: "arn:aws:guardduty:eu-west-1:111111111111:detector/unknown", AssetName: "unknown",
			AssetType: "AwsGuardDutyDetector", Region: "eu-west-1", Status: citadel.StatusError, ProwlerStatus: citadel.StatusError,
			Detail: "AccessDenied calling ListDetectors.", Controls: []string{"MON-01"}, Requirements: []string{"CC7.2"}}),
		prod(export.Finding{CheckID: "account_maintain_current_contact_details", CheckTitle: "Maintain current contact details",
			Severity: citadel.SeverityLow, AssetARN: arnProdRoot, AssetName: "<root_account>", AssetType: "AwsAccount", Region: "us-east-1",
			Status: citadel.StatusNotApplicable, ProwlerStatus: citadel.StatusNotApplicable, Detail: "Manual check."}),
		stage(export.Finding{CheckID: "ec2_instance_imdsv2_enabled", CheckTitle: "Check if EC2 Instance Metadata Service Version 2 (IMDSv2) is Enabled and Required",
			Severity: citadel.SeverityMedium, AssetARN: arnStageVM, AssetName: "i-0abc123def4567890", AssetType: "AwsEc2Instance", Region: "eu-west-1",
			Status: citadel.StatusFail, ProwlerStatus: citadel.StatusFail, Muted: true,
			Detail:   "EC2 Instance i-0abc123def4567890 has IMDSv2 disabled or not required.",
			Controls: []string{"MON-01"}, Requirements: []string{"CC7.1"}}),
		stage(export.Finding{CheckID: "s3_bucket_public_access", CheckTitle: "Ensure S3 buckets are not publicly accessible",
			Severity: citadel.SeverityHigh, AssetARN: arnStageWeb, AssetName: "stage-assets", AssetType: "AwsS3Bucket", Region: "eu-west-1",
			Status: citadel.StatusExcepted, ProwlerStatus: citadel.StatusFail, Muted: true, ExceptionID: "exc-stage-assets",
			Detail: "S3 Bucket stage-assets has public access (static website).", FirstSeen: at("2025-01-05T04:00:00Z"),
			Controls: []string{"AC-01"}, Requirements: []string{"CC6.1"}}),
		stage(export.Finding{CheckID: "cloudtrail_multi_region_enabled", CheckTitle: "Ensure CloudTrail is enabled in all regions",
			Severity: citadel.SeverityLow, AssetARN: arnStageTrail, AssetName: "main", AssetType: "AwsCloudTrailTrail", Region: "eu-west-1",
			Status: citadel.StatusPass, ProwlerStatus: citadel.StatusPass, FirstSeen: at("2024-12-01T04:00:00Z"),
			Controls: []string{"MON-01"}, Requirements: []string{"CC7.2"}}),
		stage(export.Finding{CheckID: "iam_no_root_access_key", CheckTitle: "Ensure no root account access key exists",
			Severity: citadel.SeverityCritical, AssetARN: arnStageRoot, AssetName: "<root_account>", AssetType: "AwsIamUser", Region: "us-east-1",
			Status: citadel.StatusFail, ProwlerStatus: citadel.StatusFail, Detail: "Root account has one active access key.",
			FirstSeen: at("2025-02-25T04:00:00Z"), Controls: []string{"AC-01"}, Requirements: []string{"CC6.1"}}),
	}

	evID := citadel.EvidenceID("int-prod", "s3_bucket_public_access", citadel.AssetID("int-prod", citadel.SourceAWS, arnProdLogs))
	rev1 := citadel.NewRevision(evID, 1, "scan-prod-0040", []byte(`{"status_code":"PASS","resource":"prod-logs"}`), nil, at("2025-01-12T04:10:00Z"))
	rev2 := citadel.NewRevision(evID, 2, "scan-prod-0041", []byte(`{"status_code":"FAIL","resource":"prod-logs"}`), &rev1, at("2025-02-10T04:10:00Z"))
	ev := citadel.Evidence{ID: evID, FolderID: "fld-eng", SourceIntegration: "int-prod", CheckID: "s3_bucket_public_access",
		AssetID: citadel.AssetID("int-prod", citadel.SourceAWS, arnProdLogs), Name: citadel.EvidenceName("prod-logs", "Ensure S3 buckets are not publicly accessible"),
		Origin: citadel.OriginScan, IsContinuous: true, AssetName: "prod-logs", AssetType: "AwsS3Bucket", AssetSourceID: arnProdLogs,
		ResultStatus: citadel.StatusFail, RevisionCount: 2, LatestHash: rev2.Hash, CreatedAt: rev1.CreatedAt, UpdatedAt: rev2.CreatedAt}
	review := citadel.NewReview(ev, "auditor@example.com", citadel.ReviewReject, "Bucket policy grants s3:GetObject to *.", at("2025-02-12T10:00:00Z"))
	ev.Status, ev.ReviewCount, ev.LatestReviewHash = citadel.EvidenceRejected, 1, review.Hash
	ev.ReviewedBy, ev.ReviewedAt, ev.ReviewComment = review.By, review.At, review.Comment

	return export.Dataset{
		Generated: at("2025-03-03T09:30:00Z"),
		AsOf:      at("2025-03-03T09:30:00Z"),
		Framework: export.Framework{ID: "soc2", Name: "SOC 2", Version: "2017"},
		Scope:     export.Scope{Kind: export.ScopeFolder, ID: "fld-eng"},
		Integrations: []export.Integration{
			{ID: "int-prod", Name: "Production", AccountID: "111111111111", FolderID: "fld-eng", ScanID: "scan-prod-0042", ScannedAt: prodScan},
			{ID: "int-stage", Name: "Staging", AccountID: "222222222222", FolderID: "fld-eng", ScanID: "scan-stage-0017", ScannedAt: stageScan},
		},
		Findings: findings,
		Controls: []export.Control{
			{ID: "ctl-access", RefID: "AC-01", Name: "Access control", Posture: citadel.PosturePartial, Passed: 0, Failed: 2, Excepted: 2,
				Checks: []string{"iam_no_root_access_key", "iam_root_mfa_enabled", "s3_bucket_public_access"}, Requirements: []string{"CC6.1"}},
			{ID: "ctl-crypto", RefID: "CR-01", Name: "Encryption at rest", Posture: citadel.PosturePassing, Passed: 1,
				Checks: []string{"s3_bucket_default_encryption"}, Requirements: []string{"CC6.7"}},
			{ID: "ctl-monitor", RefID: "MON-01", Name: "Monitoring", Posture: citadel.PosturePartial, Passed: 1, Failed: 1, Errored: 1,
				Checks: []string{"cloudtrail_multi_region_enabled", "ec2_instance_imdsv2_enabled", "guardduty_is_enabled"}, Requirements: []string{"CC7.1", "CC7.2"}},
		},
		Requirements: []export.Requirement{
			{RefID: "CC6.1", Name: "Logical and physical access controls", Description: "The entity implements logical access security software, infrastructure, and architectures over protected information assets.",
				Result: citadel.ResultNonCompliant, Covered: true, Controls: []string{"AC-01"}, Failed: 2, Excepted: 2},
			{RefID: "CC6.7", Name: "Transmission and storage of data", Result: citadel.ResultCompliant, Covered: true, AllPassing: true,
				Controls: []string{"CR-01"}, Passed: 1},
			{RefID: "CC7.1", Name: "Detection of configuration changes", Result: citadel.ResultNonCompliant, Covered: true,
				Controls: []string{"MON-01"}, Failed: 1},
			{RefID: "CC7.2", Name: "Monitoring of system components", Result: citadel.ResultCompliant, Covered: true, AllPassing: true,
				Controls: []string{"MON-01"}, Passed: 1},
			{RefID: "CC9.2", Name: "Vendor and business partner risk", Result: citadel.ResultNotAssessed},
		},
		Evidence: []export.EvidenceRecord{{Evidence: ev, Revisions: []citadel.EvidenceRevision{rev1, rev2}, Reviews: []citadel.EvidenceReview{review}}},
		Exceptions: []citadel.Exception{
			exception("exc-root-mfa", "int-prod", "iam_root_mfa_enabled", citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: arnProdRoot,
				AssetID: citadel.AssetID("int-prod", citadel.SourceAWS, arnProdRoot)},
				"security-team", "Root is break-glass only; its hardware MFA token is being replaced.", at("2025-01-21T09:00:00Z"), at("2025-01-22T15:00:00Z"), at("2025-06-30T00:00:00Z")),
			exception("exc-stage-assets", "int-stage", "s3_bucket_public_access", citadel.ExceptionScope{Kind: citadel.ScopeIntegration},
				"web-team", "stage-assets serves the public staging website.", at("2025-01-06T09:00:00Z"), at("2025-01-07T11:00:00Z"), at("2025-04-30T00:00:00Z")),
		},
	}
}

func exception(id, integration, check string, scope citadel.ExceptionScope, owner, why string, requested, decided, expires time.Time) citadel.Exception {
	return citadel.Exception{ID: id, FolderID: "fld-eng", IntegrationID: integration, CheckID: check, Scope: scope,
		Justification: why, Owner: owner, RequestedBy: "dev@example.com", RequestedAt: requested, ExpiresAt: expires,
		Status: citadel.ExceptionApproved, DecidedBy: "auditor@example.com", DecidedAt: decided, DecisionNote: "Accepted until the fix lands.",
		UpdatedAt: decided, History: []citadel.ExceptionTransition{
			{From: "", To: citadel.ExceptionRequested, By: "dev@example.com", At: requested},
			{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "auditor@example.com", At: decided, Note: "Accepted until the fix lands."},
		}}
}

// emptyDataset has a framework, a scope and an integration but no finding,
// control or requirement.
func emptyDataset() export.Dataset {
	return export.Dataset{
		Generated:    at("2025-03-03T09:30:00Z"),
		Framework:    export.Framework{ID: "iso27001-2022", Name: "ISO/IEC 27001:2022"},
		Scope:        export.Scope{Kind: export.ScopeIntegration, ID: "int-empty"},
		Integrations: []export.Integration{{ID: "int-empty", Name: "Sandbox", AccountID: "333333333333", FolderID: "fld-x"}},
	}
}

// shuffled is ds with every list (and the lists inside its items) in a
// random order.
func shuffled(ds export.Dataset, r *rand.Rand) export.Dataset {
	shuffle := func(n int, swap func(i, j int)) { r.Shuffle(n, swap) }
	out := ds
	out.Integrations = append([]export.Integration(nil), ds.Integrations...)
	shuffle(len(out.Integrations), func(i, j int) { out.Integrations[i], out.Integrations[j] = out.Integrations[j], out.Integrations[i] })
	out.Findings = nil
	for _, f := range ds.Findings {
		f.Controls, f.Requirements = append([]string(nil), f.Controls...), append([]string(nil), f.Requirements...)
		shuffle(len(f.Controls), func(i, j int) { f.Controls[i], f.Controls[j] = f.Controls[j], f.Controls[i] })
		shuffle(len(f.Requirements), func(i, j int) { f.Requirements[i], f.Requirements[j] = f.Requirements[j], f.Requirements[i] })
		out.Findings = append(out.Findings, f)
	}
	shuffle(len(out.Findings), func(i, j int) { out.Findings[i], out.Findings[j] = out.Findings[j], out.Findings[i] })
	out.Controls = nil
	for _, c := range ds.Controls {
		c.Checks = append([]string(nil), c.Checks...)
		shuffle(len(c.Checks), func(i, j int) { c.Checks[i], c.Checks[j] = c.Checks[j], c.Checks[i] })
		out.Controls = append(out.Controls, c)
	}
	shuffle(len(out.Controls), func(i, j int) { out.Controls[i], out.Controls[j] = out.Controls[j], out.Controls[i] })
	out.Requirements = nil
	for _, q := range ds.Requirements {
		q.Controls = append([]string(nil), q.Controls...)
		shuffle(len(q.Controls), func(i, j int) { q.Controls[i], q.Controls[j] = q.Controls[j], q.Controls[i] })
		out.Requirements = append(out.Requirements, q)
	}
	shuffle(len(out.Requirements), func(i, j int) { out.Requirements[i], out.Requirements[j] = out.Requirements[j], out.Requirements[i] })
	out.Evidence = nil
	for _, e := range ds.Evidence {
		e.Revisions = append([]citadel.EvidenceRevision(nil), e.Revisions...)
		shuffle(len(e.Revisions), func(i, j int) { e.Revisions[i], e.Revisions[j] = e.Revisions[j], e.Revisions[i] })
		e.Reviews = append([]citadel.EvidenceReview(nil), e.Reviews...)
		shuffle(len(e.Reviews), func(i, j int) { e.Reviews[i], e.Reviews[j] = e.Reviews[j], e.Reviews[i] })
		out.Evidence = append(out.Evidence, e)
	}
	out.Exceptions = append([]citadel.Exception(nil), ds.Exceptions...)
	shuffle(len(out.Exceptions), func(i, j int) { out.Exceptions[i], out.Exceptions[j] = out.Exceptions[j], out.Exceptions[i] })
	return out
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run go test ./shared/oscal/ -update to write it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got; -update rewrites it):\n%s", name, diff)
	}
}
