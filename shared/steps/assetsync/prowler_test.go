package assetsync_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// prowlerChecks is one Prowler check per collected resource type whose
// findings name that type's resources.
var prowlerChecks = map[string]string{
	"ec2_instance_imdsv2_enabled":                                inventory.TypeEC2Instance,
	"ec2_ebs_volume_encryption":                                  inventory.TypeEBSVolume,
	"vpc_flow_logs_enabled":                                      inventory.TypeVPC,
	"vpc_subnet_no_public_ip_by_default":                         inventory.TypeSubnet,
	"ec2_securitygroup_allow_ingress_from_internet_to_all_ports": inventory.TypeSecurityGroup,
	"s3_bucket_default_encryption":                               inventory.TypeS3Bucket,
	"iam_role_cross_service_confused_deputy_prevention":          inventory.TypeIAMRole,
	"iam_user_mfa_enabled_console_access":                        inventory.TypeIAMUser,
	"iam_group_administrator_access_policy":                      inventory.TypeIAMGroup,
	"iam_customer_attached_policy_no_administrative_privileges":  inventory.TypeIAMPolicy,
	"awslambda_function_not_publicly_accessible":                 inventory.TypeLambdaFunction,
	"rds_instance_storage_encrypted":                             inventory.TypeRDSInstance,
	"dynamodb_tables_kms_cmk_encryption_enabled":                 inventory.TypeDynamoDBTable,
	"kms_cmk_rotation_enabled":                                   inventory.TypeKMSKey,
	"cloudtrail_kms_encryption_enabled":                          inventory.TypeCloudTrail,
	"elbv2_deletion_protection":                                  inventory.TypeLoadBalancer,
	"ecs_cluster_container_insights_enabled":                     inventory.TypeECSCluster,
	"sns_topics_kms_encryption_at_rest_enabled":                  inventory.TypeSNSTopic,
	"sqs_queues_server_side_encryption_enabled":                  inventory.TypeSQSQueue,
	"secretsmanager_automatic_rotation_enabled":                  inventory.TypeSecret,
	"cloudwatch_log_group_kms_encryption_enabled":                inventory.TypeLogGroup,
}

// TestProwlerFindingsNameTheStoredARNs runs the real Prowler against the
// seeded estate on moto and checks that every resource its findings name is
// an asset the sync stored, under exactly that ARN, and of the type the
// check covers: step 3 matches findings to assets by ARN.
func TestProwlerFindingsNameTheStoredARNs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prowler (about a minute)")
	}
	bin := filepath.Join(testenv.RepoRoot(), ".venv", "bin", "prowler")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prowler is not installed at %s: %v", bin, err)
		}
		t.Skipf("prowler is not installed at %s (make venv)", bin)
	}
	ctx := context.Background()
	f := newFixture(t)
	f.sync(t)
	stored := map[string]string{} // ARN -> type
	for typ, arns := range f.activeByType(t) {
		for _, a := range arns {
			stored[a] = typ
		}
	}

	creds, err := f.acct.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	checks := make([]string, 0, len(prowlerChecks))
	for c := range prowlerChecks {
		checks = append(checks, c)
	}
	sort.Strings(checks)
	args := append([]string{"aws", "--checks"}, checks...)
	args = append(args, "-M", "json-ocsf", "-o", dir, "-F", "out", "-f", east, west, "--no-banner")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey, "AWS_SESSION_TOKEN="+creds.SessionToken,
		"AWS_ENDPOINT_URL="+testenv.Endpoint(t), "AWS_DEFAULT_REGION="+east, "HOME="+dir)
	outp, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 { // 3: some checks failed
			t.Fatalf("prowler: %v\n%s", err, tail(outp))
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "out.ocsf.json"))
	if err != nil {
		t.Fatalf("prowler wrote no OCSF file: %v\n%s", err, tail(outp))
	}
	var findings []struct {
		Metadata struct {
			EventCode string `json:"event_code"`
		} `json:"metadata"`
		Resources []struct {
			UID    string `json:"uid"`
			Region string `json:"region"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &findings); err != nil {
		t.Fatal(err)
	}
	covered := map[string]int{}
	for _, fd := range findings {
		want, ok := prowlerChecks[fd.Metadata.EventCode]
		if !ok {
			continue
		}
		for _, r := range fd.Resources {
			got, ok := stored[r.UID]
			switch {
			case !ok:
				t.Errorf("%s: Prowler reports %s, which the sync did not store", fd.Metadata.EventCode, r.UID)
			case got != want:
				t.Errorf("%s: %s is stored as %s, want %s", fd.Metadata.EventCode, r.UID, got, want)
			default:
				covered[want]++
			}
		}
	}
	t.Logf("%d findings; resources matched by type: %v", len(findings), covered)
	// Every type with a Prowler check is matched (internet gateways have none).
	for _, typ := range prowlerChecks {
		if covered[typ] == 0 {
			t.Errorf("no Prowler finding named a %s asset", typ)
		}
	}
}

func tail(b []byte) string {
	s := string(b)
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return strings.TrimSpace(s)
}
