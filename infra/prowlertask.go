package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Sizes of the Prowler task. A full Prowler run over every region of an
// account holds its findings in memory before writing them: 2 vCPU and
// 8 GiB, with room on disk for the output and Prowler's caches.
const (
	ProwlerCPU            = 2048
	ProwlerMemoryMiB      = 8192
	ProwlerEphemeralGiB   = 30
	ProwlerContainerName  = "prowler"
	ProwlerTaskDeadline   = "3h30m" // CITADEL_DEADLINE: the task stops itself before the state's timeout
	prowlerLogStreamPrefx = "prowler"
)

// ProwlerContextExcludes keep the image's build context (the repository, as
// prowler-task/Dockerfile expects) to what the build copies: the module files,
// shared/ and prowler-task/. Nothing else (.venv, .tools, bin, cdk.out, .git)
// is staged or sent to Docker.
var ProwlerContextExcludes = []string{"*", "!go.mod", "!go.sum", "!shared", "!prowler-task"}

// publicSubnets selects the VPC's only subnets.
var publicSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}

// ProwlerTask is the Fargate task that runs Prowler, and where it runs.
type ProwlerTask struct {
	Vpc            awsec2.Vpc
	SecurityGroup  awsec2.SecurityGroup
	Cluster        awsecs.Cluster
	TaskDefinition awsecs.FargateTaskDefinition
	Container      awsecs.ContainerDefinition
	// Image is the Prowler image asset; its hash changes with the image's
	// build context, and re-runs the catalog load (catalog.go).
	Image awsecrassets.DockerImageAsset
}

// newProwlerTask builds the network, the cluster and the task definition.
//
// Networking without a NAT gateway: a VPC of public subnets only, the task
// started with a public IP behind a security group with no inbound rules, and
// a (free) S3 gateway endpoint so the scan output stays on the AWS network.
// Prowler calls the APIs of every region, so interface endpoints would not
// cover it; a NAT gateway would cost more than the scans. See docs/infra.md.
func newProwlerTask(scope constructs.Construct, cfg Config, bucket awss3.Bucket, scannerRoles []*string) *ProwlerTask {
	p := &ProwlerTask{}
	flowLogs := awslogs.NewLogGroup(scope, jsii.String("VpcFlowLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	p.Vpc = awsec2.NewVpc(scope, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name:       jsii.String("public"),
			SubnetType: awsec2.SubnetType_PUBLIC,
			CidrMask:   jsii.Number(24),
		}},
		GatewayEndpoints: &map[string]*awsec2.GatewayVpcEndpointOptions{
			"S3": {Service: awsec2.GatewayVpcEndpointAwsService_S3()},
		},
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"Rejected": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_REJECT,
			},
		},
		// The default security group is unused; restricting it would add a
		// custom-resource Lambda to the stack for nothing.
		RestrictDefaultSecurityGroup: jsii.Bool(false),
	})
	p.SecurityGroup = awsec2.NewSecurityGroup(scope, jsii.String("ProwlerTaskSG"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("Prowler task: outbound HTTPS to AWS APIs only, no inbound"),
		AllowAllOutbound: jsii.Bool(false),
	})
	p.SecurityGroup.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS to AWS APIs"), nil)

	p.Cluster = awsecs.NewCluster(scope, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 p.Vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})

	cpu, platform := awsecs.CpuArchitecture_ARM64(), awsecrassets.Platform_LINUX_ARM64()
	if cfg.TaskArch == "x86_64" {
		cpu, platform = awsecs.CpuArchitecture_X86_64(), awsecrassets.Platform_LINUX_AMD64()
	}
	p.TaskDefinition = awsecs.NewFargateTaskDefinition(scope, jsii.String("ProwlerTask"), &awsecs.FargateTaskDefinitionProps{
		Cpu:                 jsii.Number(ProwlerCPU),
		MemoryLimitMiB:      jsii.Number(ProwlerMemoryMiB),
		EphemeralStorageGiB: jsii.Number(ProwlerEphemeralGiB),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       cpu,
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	taskLogs := awslogs.NewLogGroup(scope, jsii.String("ProwlerTaskLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	p.Image = awsecrassets.NewDockerImageAsset(scope, jsii.String("ProwlerImage"), &awsecrassets.DockerImageAssetProps{
		Directory:  jsii.String(cfg.ProwlerContext),
		File:       jsii.String(cfg.ProwlerDockerfile),
		Platform:   platform,
		IgnoreMode: awscdk.IgnoreMode_DOCKER,
		Exclude:    jsii.Strings(ProwlerContextExcludes...),
	})
	p.Container = p.TaskDefinition.AddContainer(jsii.String(ProwlerContainerName), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String(ProwlerContainerName),
		Image:         awsecs.ContainerImage_FromDockerImageAsset(p.Image),
		Essential:     jsii.Bool(true),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			StreamPrefix: jsii.String(prowlerLogStreamPrefx),
			LogGroup:     taskLogs,
		}),
		// Defaults; the state machine overrides the scan's parameters.
		Environment: &map[string]*string{
			citadel.EnvBucket:       bucket.BucketName(),
			citadel.EnvTaskMode:     jsii.String(citadel.TaskModeScan),
			citadel.EnvTaskDeadline: jsii.String(ProwlerTaskDeadline),
		},
	})

	// Read-only in the home account; in target accounts, only through their
	// scanner roles. In the bucket: the scan prefix and the catalog prefix.
	role := p.TaskDefinition.TaskRole()
	grantReadOnly(role)
	grantAssumeScanner(role, scannerRoles)
	grantObjects(bucket, role, citadel.ScanPrefix, true, true)
	grantObjects(bucket, role, citadel.CatalogPrefix, false, true)

	suppress(p.TaskDefinition, "AwsSolutions-ECS2",
		"The container's environment holds only the bucket name, the task mode, its deadline and the scan's parameters: no secrets.")
	suppress(p.TaskDefinition.ExecutionRole(), "AwsSolutions-IAM5",
		"ecr:GetAuthorizationToken has no resource-level permissions; the image pull itself is limited to the asset repository.",
		findingAnyResource)
	return p
}

// runState runs the task with env and waits for it to stop (RunTask .sync,
// in a public subnet with a public IP and no inbound rule): the state fails
// if the container exits non-zero; ECS's transient errors are retried. The
// scan's prowler state and the catalog's export are both one.
func (task *ProwlerTask) runState(scope constructs.Construct, name string, env []*awsstepfunctionstasks.TaskEnvironmentVariable, timeout time.Duration) awsstepfunctionstasks.EcsRunTask {
	st := awsstepfunctionstasks.NewEcsRunTask(scope, jsii.String(name), &awsstepfunctionstasks.EcsRunTaskProps{
		StateName:          jsii.String(name),
		IntegrationPattern: awsstepfunctions.IntegrationPattern_RUN_JOB,
		Cluster:            task.Cluster,
		TaskDefinition:     task.TaskDefinition,
		LaunchTarget: awsstepfunctionstasks.NewEcsFargateLaunchTarget(&awsstepfunctionstasks.EcsFargateLaunchTargetOptions{
			PlatformVersion: awsecs.FargatePlatformVersion_LATEST,
		}),
		AssignPublicIp: jsii.Bool(true),
		Subnets:        publicSubnets,
		SecurityGroups: &[]awsec2.ISecurityGroup{task.SecurityGroup},
		ContainerOverrides: &[]*awsstepfunctionstasks.ContainerOverride{{
			ContainerDefinition: task.Container,
			Environment:         &env,
		}},
		ResultPath:  awsstepfunctions.JsonPath_DISCARD(),
		TaskTimeout: awsstepfunctions.Timeout_Duration(duration(timeout)),
	})
	st.AddRetry(&awsstepfunctions.RetryProps{
		Errors:         jsii.Strings(ECSRetryableErrors...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(30)),
		MaxAttempts:    jsii.Number(3),
		BackoffRate:    jsii.Number(2),
		JitterStrategy: awsstepfunctions.JitterType_FULL,
	})
	return st
}
