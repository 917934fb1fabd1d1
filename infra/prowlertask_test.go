package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestProwlerTaskDefinition(t *testing.T) {
	for name, tc := range map[string]struct {
		s    *synthesized
		arch string
	}{"default": {defaultApp(t), "ARM64"}, "x86_64": {customApp(t), "X86_64"}} {
		t.Run(name, func(t *testing.T) {
			s := tc.s
			p := s.props(t, s.logicalID(s.stacks.Main.Prowler.TaskDefinition))
			got := map[string]any{
				"Cpu": p["Cpu"], "Memory": p["Memory"], "NetworkMode": p["NetworkMode"],
				"RequiresCompatibilities": p["RequiresCompatibilities"], "EphemeralStorage": p["EphemeralStorage"],
				"RuntimePlatform": p["RuntimePlatform"],
			}
			want := map[string]any{
				"Cpu": "2048", "Memory": "8192", "NetworkMode": "awsvpc", "RequiresCompatibilities": []any{"FARGATE"},
				"EphemeralStorage": map[string]any{"SizeInGiB": float64(ProwlerEphemeralGiB)},
				"RuntimePlatform":  map[string]any{"CpuArchitecture": tc.arch, "OperatingSystemFamily": "LINUX"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("task definition (-want +got):\n%s", diff)
			}
			containers := p["ContainerDefinitions"].([]any)
			if len(containers) != 1 {
				t.Fatalf("%d containers, want 1", len(containers))
			}
			c := containers[0].(map[string]any)
			if c["Name"] != ProwlerContainerName || c["Essential"] != true {
				t.Errorf("container %v", c)
			}
			if lc := c["LogConfiguration"].(map[string]any); lc["LogDriver"] != "awslogs" {
				t.Errorf("logging %v", lc)
			}
			env := map[string]string{}
			for _, e := range c["Environment"].([]any) {
				kv := e.(map[string]any)
				env[kv["Name"].(string)] = render(kv["Value"])
			}
			wantEnv := map[string]string{
				citadel.EnvBucket:       "<" + s.logicalID(s.stacks.Main.Bucket) + ">",
				citadel.EnvTaskMode:     "scan",
				citadel.EnvTaskDeadline: ProwlerTaskDeadline,
			}
			if diff := cmp.Diff(wantEnv, env); diff != "" {
				t.Errorf("container environment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProwlerImageAsset: the image is built from the Prowler task's directory.
func TestProwlerImageAsset(t *testing.T) {
	s := defaultApp(t)
	b, err := os.ReadFile(filepath.Join(s.outDir, "Citadel.assets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var assets struct {
		DockerImages map[string]struct {
			Source struct {
				Directory  string `json:"directory"`
				DockerFile string `json:"dockerFile"`
				Platform   string `json:"platform"`
			} `json:"source"`
		} `json:"dockerImages"`
	}
	if err := json.Unmarshal(b, &assets); err != nil {
		t.Fatal(err)
	}
	if len(assets.DockerImages) != 1 {
		t.Fatalf("%d docker images, want 1", len(assets.DockerImages))
	}
	for _, img := range assets.DockerImages {
		if img.Source.Platform != "linux/arm64" {
			t.Errorf("platform %q, want linux/arm64", img.Source.Platform)
		}
		if img.Source.DockerFile != "prowler-task/Dockerfile" {
			t.Errorf("dockerfile %q, want prowler-task/Dockerfile", img.Source.DockerFile)
		}
		root := filepath.Join(s.outDir, img.Source.Directory)
		var staged []string
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, path)
				staged = append(staged, filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(staged)
		if diff := cmp.Diff(contextStaged, staged); diff != "" {
			t.Errorf("staged build context (-want +got):\n%s", diff)
		}
	}
}

func TestProwlerTaskRole(t *testing.T) {
	for name, s := range map[string]*synthesized{"default": defaultApp(t), "custom": customApp(t)} {
		t.Run(name, func(t *testing.T) {
			roleID := s.logicalID(s.stacks.Main.Prowler.TaskDefinition.TaskRole())
			p := s.props(t, roleID)
			var managed []string
			for _, m := range p["ManagedPolicyArns"].([]any) {
				managed = append(managed, render(m))
			}
			want := []string{"arn:<AWS::Partition>:iam::aws:policy/SecurityAudit", "arn:<AWS::Partition>:iam::aws:policy/job-function/ViewOnlyAccess"}
			if diff := cmp.Diff(want, managed); diff != "" {
				t.Errorf("managed policies (-want +got):\n%s", diff)
			}
			bucket := s.logicalID(s.stacks.Main.Bucket)
			sts := s.statements(roleID)
			scanner := `^arn:<AWS::Partition>:iam::\*:role/CitadelScanner$`
			if len(s.cfg.TargetAccounts) > 0 {
				scanner = `^arn:<AWS::Partition>:iam::` + s.cfg.TargetAccounts[0] + `:role/` + s.cfg.ScannerRoleName + `$`
				if !grants(sts, "sts:AssumeRole", `^arn:<AWS::Partition>:iam::`+s.cfg.TargetAccounts[1]+`:role/`+s.cfg.ScannerRoleName+`$`) {
					t.Error("cannot assume the second target account's scanner role")
				}
				if grants(sts, "sts:AssumeRole", `::\*:`) {
					t.Error("may assume roles in any account although target accounts are configured")
				}
			}
			for _, g := range []struct {
				action, resource string
				want             bool
			}{
				{"sts:AssumeRole", scanner, true},
				{"s3:PutObject", `^<` + bucket + `\.Arn>/scans/\*$`, true},
				{"s3:PutObject", `^<` + bucket + `\.Arn>/catalog/prowler/\*$`, true},
				{"s3:GetObject*", `^<` + bucket + `\.Arn>/scans/\*$`, true},
				{"s3:PutObject", `^<` + bucket + `\.Arn>$`, false},
				{"s3:PutObject", `^<` + bucket + `\.Arn>/\*$`, false},
				{"s3:DeleteObject*", ".", false},
				{"dynamodb:PutItem", ".", false},
			} {
				if got := grants(sts, g.action, g.resource); got != g.want {
					t.Errorf("%s on %s granted = %v, want %v (actions %v)", g.action, g.resource, got, g.want, actions(sts))
				}
			}
		})
	}
}

// TestProwlerNetwork: no NAT gateway; the task gets a public IP in a public
// subnet behind a security group with no inbound rule.
func TestProwlerNetwork(t *testing.T) {
	s := defaultApp(t)
	check(t, "no NAT gateway", func() { s.main.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(0)) })
	check(t, "no ingress rule", func() { s.main.ResourceCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), jsii.Number(0)) })
	check(t, "two public subnets", func() { s.main.ResourceCountIs(jsii.String("AWS::EC2::Subnet"), jsii.Number(2)) })
	check(t, "subnets route to the internet gateway", func() {
		s.main.ResourceCountIs(jsii.String("AWS::EC2::InternetGateway"), jsii.Number(1))
		s.main.AllResourcesProperties(jsii.String("AWS::EC2::Subnet"), map[string]any{"MapPublicIpOnLaunch": true})
	})
	check(t, "the S3 gateway endpoint", func() {
		s.main.HasResourceProperties(jsii.String("AWS::EC2::VPCEndpoint"), map[string]any{
			"VpcEndpointType": "Gateway",
			"ServiceName":     assertions.Match_ObjectLike(&map[string]any{}),
		})
	})
	check(t, "flow logs", func() {
		s.main.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), map[string]any{"TrafficType": "REJECT"})
	})
	check(t, "container insights", func() {
		s.main.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), map[string]any{
			"ClusterSettings": []any{map[string]any{"Name": "containerInsights", "Value": "enabled"}},
		})
	})
	sg := s.props(t, s.logicalID(s.stacks.Main.Prowler.SecurityGroup))
	if _, ok := sg["SecurityGroupIngress"]; ok {
		t.Errorf("the task's security group has inbound rules: %v", sg["SecurityGroupIngress"])
	}
	want := []any{map[string]any{"CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs", "FromPort": float64(443), "IpProtocol": "tcp", "ToPort": float64(443)}}
	if diff := cmp.Diff(want, sg["SecurityGroupEgress"]); diff != "" {
		t.Errorf("egress (-want +got):\n%s", diff)
	}
}
