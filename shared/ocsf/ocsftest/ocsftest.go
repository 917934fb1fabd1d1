// Package ocsftest generates synthetic Prowler OCSF files for tests and
// benchmarks: the same shape and field sizes as Prowler 5's Detection
// Findings, pretty-printed as one array the way Prowler writes it, streamed
// to a writer so a million findings never sit in memory.
package ocsftest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// Spec is one finding to generate.
type Spec struct {
	Check        string
	StatusCode   string // PASS, FAIL, MANUAL
	Status       string // "New" unless set; "Suppressed" for muted
	StatusDetail string
	UIDs         []string // resources[].uid
	Region       string
	// Data is resources[].data; nil gets a small generated snapshot.
	Data json.RawMessage
}

// Finding builds the OCSF document of a spec.
func Finding(s Spec) map[string]any {
	status := s.Status
	if status == "" {
		status = "New"
	}
	region := s.Region
	if region == "" {
		region = "us-east-1"
	}
	detail := s.StatusDetail
	if detail == "" {
		detail = fmt.Sprintf("%s: %s on the resource.", s.Check, s.StatusCode)
	}
	resources := make([]any, len(s.UIDs))
	for i, uid := range s.UIDs {
		data := s.Data
		if data == nil {
			data, _ = json.Marshal(map[string]any{
				"details": "",
				"metadata": map[string]any{
					"arn": uid, "name": fmt.Sprintf("resource-%d", i), "region": region,
					"tags":       []any{map[string]string{"Key": "team", "Value": "platform"}},
					"encryption": map[string]any{"enabled": s.StatusCode == "PASS", "kms_key": ""},
				},
			})
		}
		resources[i] = map[string]any{
			"cloud_partition": "aws", "region": region, "data": data,
			"group": map[string]string{"name": "service"}, "labels": []string{},
			"name": fmt.Sprintf("resource-%d", i), "type": "AwsResource", "uid": uid,
		}
	}
	return map[string]any{
		"message": detail,
		"metadata": map[string]any{
			"event_code": s.Check,
			"product":    map[string]string{"name": "Prowler", "uid": "prowler", "vendor_name": "Prowler", "version": "5.40.0"},
			"profiles":   []string{"cloud", "datetime"}, "tenant_uid": "", "version": "1.4.0",
		},
		"severity_id": 3, "severity": "Medium", "status": status, "status_code": s.StatusCode,
		"status_detail": detail, "status_id": 1,
		"unmapped": map[string]any{
			"related_url": "https://docs.aws.amazon.com/", "categories": []string{"encryption"},
			"depends_on": []string{}, "related_to": []string{}, "additional_urls": []string{}, "notes": "",
			"compliance": map[string][]string{
				"CIS-3.0": {"2.1.1"}, "ISO27001-2022": {"A.8.24"}, "SOC2": {"cc_6_1", "cc_6_7"},
				"NIST-800-53-Revision-5": {"sc_13", "sc_28", "sc_28_1"},
			},
		},
		"activity_name": "Create", "activity_id": 1,
		"finding_info": map[string]any{
			"created_time": 1739539623, "created_time_dt": "2025-02-14T14:27:03.913874",
			"desc": "Checks that the resource is configured as the benchmark recommends.", "product_uid": "prowler",
			"title": "Resource is configured as recommended", "types": []string{"Software and Configuration Checks"},
			"uid": fmt.Sprintf("prowler-aws-%s-%s", s.Check, region),
		},
		"resources":     resources,
		"category_name": "Findings", "category_uid": 2, "class_name": "Detection Finding", "class_uid": 2004,
		"cloud": map[string]any{
			"account":  map[string]any{"name": "", "type": "AWS Account", "type_id": 10, "uid": "123456789012", "labels": []string{}},
			"org":      map[string]string{"name": "", "uid": ""},
			"provider": "aws", "region": region,
		},
		"remediation": map[string]any{
			"desc":       "Configure the resource as the benchmark recommends; see the references for the exact steps.",
			"references": []string{"aws service update-resource --enable", "https://docs.aws.amazon.com/"},
		},
		"risk_details": "A resource that is not configured as recommended widens the attack surface and can expose data.",
		"time":         1739539623, "time_dt": "2025-02-14T14:27:03.913874",
		"type_uid": 200401, "type_name": "Detection Finding: Create",
	}
}

// Write writes n findings, spec(i) each, as one pretty-printed array, and
// returns the bytes written.
func Write(w io.Writer, n int, spec func(i int) Spec) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	if _, err := bw.WriteString("[\n"); err != nil {
		return cw.n, err
	}
	for i := 0; i < n; i++ {
		b, err := json.MarshalIndent(Finding(spec(i)), "  ", "  ")
		if err != nil {
			return cw.n, err
		}
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString("  ")
		bw.Write(b)
	}
	bw.WriteString("\n]\n")
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// Checks are the synthetic check ids generated files use.
var Checks = []string{"s3_bucket_default_encryption", "s3_bucket_public_access", "ec2_ebs_volume_encryption", "iam_user_mfa_enabled", "cloudtrail_multi_region_enabled"}

// Standard is the spec of a generated file's i-th finding: one resource
// each, cycling through Checks, mostly passing.
func Standard(account string) func(i int) Spec {
	return func(i int) Spec {
		status := "PASS"
		switch i % 10 {
		case 3:
			status = "FAIL"
		case 7:
			status = "MANUAL"
		}
		return Spec{
			Check:      Checks[i%len(Checks)],
			StatusCode: status,
			UIDs:       []string{fmt.Sprintf("arn:aws:s3:::%s-bucket-%07d", account, i/len(Checks))},
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
