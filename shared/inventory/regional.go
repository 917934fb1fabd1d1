package inventory

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Resource types of the regional collectors beyond EC2.
const (
	TypeLambdaFunction = "lambda:function"
	TypeRDSInstance    = "rds:db"
	TypeDynamoDBTable  = "dynamodb:table"
	TypeKMSKey         = "kms:key"
	TypeCloudTrail     = "cloudtrail:trail"
	TypeLoadBalancer   = "elbv2:load-balancer"
	TypeECSCluster     = "ecs:cluster"
	TypeSNSTopic       = "sns:topic"
	TypeSQSQueue       = "sqs:queue"
	TypeSecret         = "secretsmanager:secret"
	TypeLogGroup       = "logs:log-group"
)

// RegionalCollectors are the collectors of regional services beyond EC2.
func RegionalCollectors() []Collector {
	return []Collector{
		funcCollector{TypeLambdaFunction, "lambda", false, collectFunctions},
		funcCollector{TypeRDSInstance, "rds", false, collectDBInstances},
		funcCollector{TypeDynamoDBTable, "dynamodb", false, collectTables},
		funcCollector{TypeKMSKey, "kms", false, collectKeys},
		funcCollector{TypeCloudTrail, "cloudtrail", false, collectTrails},
		funcCollector{TypeLoadBalancer, "elbv2", false, collectLoadBalancers},
		funcCollector{TypeECSCluster, "ecs", false, collectClusters},
		funcCollector{TypeSNSTopic, "sns", false, collectTopics},
		funcCollector{TypeSQSQueue, "sqs", false, collectQueues},
		funcCollector{TypeSecret, "secretsmanager", false, collectSecrets},
		funcCollector{TypeLogGroup, "logs", false, collectLogGroups},
	}
}

// Default is the registry of every collector.
func Default() Registry {
	var r Registry
	r = append(r, EC2Collectors()...)
	r = append(r, GlobalCollectors()...)
	r = append(r, RegionalCollectors()...)
	return r
}

func lastPart(arn, sep string) string { return arn[strings.LastIndex(arn, sep)+1:] }

func mapTags(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func collectFunctions(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := lambda.NewFromConfig(env.Config)
	var subnets map[string]string
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list functions: %w", err)
		}
		tags := make([]map[string]string, len(out.Functions))
		err = each(ctx, out.Functions, func(ctx context.Context, i int, f lambdatypes.FunctionConfiguration) error {
			tg, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: f.FunctionArn})
			if err != nil {
				return fmt.Errorf("function %s tags: %w", aws.ToString(f.FunctionArn), err)
			}
			tags[i] = tg.Tags
			return nil
		})
		if err != nil {
			return err
		}
		for i, f := range out.Functions {
			arn := aws.ToString(f.FunctionArn)
			b.add(resource{typ: TypeLambdaFunction, arn: arn, id: aws.ToString(f.FunctionName), region: env.Region,
				account: env.AccountID, tags: mapTags(tags[i]), raw: f}.asset())
			b.edge(arn, aws.ToString(f.Role), citadel.RelFunctionRole)
			if v := f.VpcConfig; v != nil {
				id := aws.ToString(v.VpcId)
				if len(v.SubnetIds) > 0 {
					// The subnets decide the VPC (moto reports a placeholder
					// VpcId); one listing of the region's subnets serves all.
					if subnets == nil {
						if subnets, err = subnetVPCs(ctx, env); err != nil {
							return fmt.Errorf("function %s vpc: %w", arn, err)
						}
					}
					if s, ok := subnets[v.SubnetIds[0]]; ok {
						id = s
					}
				}
				if id != "" {
					b.edge(arn, EC2ARN(env.Region, env.AccountID, "vpc", id), citadel.RelFunctionVPC)
				}
				for _, s := range v.SubnetIds {
					b.edge(arn, EC2ARN(env.Region, env.AccountID, "subnet", s), citadel.RelFunctionSubnet)
				}
				for _, sg := range v.SecurityGroupIds {
					b.edge(arn, EC2ARN(env.Region, env.AccountID, "security-group", sg), citadel.RelFunctionSecurityGroup)
				}
			}
			b.edge(arn, KMSKeyARN(env.Region, env.AccountID, aws.ToString(f.KMSKeyArn)), citadel.RelEncryptedBy)
		}
	}
	return nil
}

// subnetVPCs maps the region's subnets to their VPCs.
func subnetVPCs(ctx context.Context, env Env) (map[string]string, error) {
	m := map[string]string{}
	p := ec2.NewDescribeSubnetsPaginator(ec2.NewFromConfig(env.Config), &ec2.DescribeSubnetsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe subnets: %w", err)
		}
		for _, s := range out.Subnets {
			m[aws.ToString(s.SubnetId)] = aws.ToString(s.VpcId)
		}
	}
	return m, nil
}

func collectDBInstances(ctx context.Context, env Env, _ []string, b *Batch) error {
	p := rds.NewDescribeDBInstancesPaginator(rds.NewFromConfig(env.Config), &rds.DescribeDBInstancesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe db instances: %w", err)
		}
		for _, db := range out.DBInstances {
			id := aws.ToString(db.DBInstanceIdentifier)
			arn := RDSInstanceARN(env.Region, env.AccountID, id)
			b.add(resource{typ: TypeRDSInstance, arn: arn, id: id, region: env.Region, account: env.AccountID,
				tags: tagMap(db.TagList, func(t rdstypes.Tag) (*string, *string) { return t.Key, t.Value }),
				raw:  db, volatile: []string{"LatestRestorableTime"}}.asset())
			if g := db.DBSubnetGroup; g != nil && aws.ToString(g.VpcId) != "" {
				b.edge(arn, EC2ARN(env.Region, env.AccountID, "vpc", aws.ToString(g.VpcId)), citadel.RelDBInVPC)
			}
			for _, sg := range db.VpcSecurityGroups {
				b.edge(arn, EC2ARN(env.Region, env.AccountID, "security-group", aws.ToString(sg.VpcSecurityGroupId)), citadel.RelDBSecurityGroup)
			}
			b.edge(arn, KMSKeyARN(env.Region, env.AccountID, aws.ToString(db.KmsKeyId)), citadel.RelEncryptedBy)
		}
	}
	return nil
}

func collectTables(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := dynamodb.NewFromConfig(env.Config)
	p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list tables: %w", err)
		}
		parts := make([]Batch, len(out.TableNames))
		err = each(ctx, out.TableNames, func(ctx context.Context, i int, name string) error {
			b := &parts[i]
			d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				return fmt.Errorf("describe table %s: %w", name, err)
			}
			t := d.Table
			// Counts and sizes move with the data, not the resource.
			t.ItemCount, t.TableSizeBytes = nil, nil
			for i := range t.GlobalSecondaryIndexes {
				t.GlobalSecondaryIndexes[i].ItemCount, t.GlobalSecondaryIndexes[i].IndexSizeBytes = nil, nil
			}
			for i := range t.LocalSecondaryIndexes {
				t.LocalSecondaryIndexes[i].ItemCount, t.LocalSecondaryIndexes[i].IndexSizeBytes = nil, nil
			}
			arn := DynamoDBTableARN(env.Region, env.AccountID, name)
			tg, err := c.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: t.TableArn})
			if err != nil {
				return fmt.Errorf("table %s tags: %w", name, err)
			}
			b.add(resource{typ: TypeDynamoDBTable, arn: arn, id: name, region: env.Region, account: env.AccountID,
				tags: tagMap(tg.Tags, func(t ddbtypes.Tag) (*string, *string) { return t.Key, t.Value }), raw: t}.asset())
			if t.SSEDescription != nil {
				b.edge(arn, KMSKeyARN(env.Region, env.AccountID, aws.ToString(t.SSEDescription.KMSMasterKeyArn)), citadel.RelEncryptedBy)
			}
			return nil
		})
		if err != nil {
			return err
		}
		b.merge(parts)
	}
	return nil
}

func collectKeys(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := kms.NewFromConfig(env.Config)
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		parts := make([]Batch, len(out.Keys))
		err = each(ctx, out.Keys, func(ctx context.Context, i int, k kmstypes.KeyListEntry) error {
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				return fmt.Errorf("describe key %s: %w", aws.ToString(k.KeyId), err)
			}
			m := d.KeyMetadata
			arn := aws.ToString(k.KeyArn)
			var tags map[string]string
			if m.KeyManager == kmstypes.KeyManagerTypeCustomer {
				tg, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
				if err != nil {
					return fmt.Errorf("key %s tags: %w", arn, err)
				}
				tags = tagMap(tg.Tags, func(t kmstypes.Tag) (*string, *string) { return t.TagKey, t.TagValue })
			}
			parts[i].add(resource{typ: TypeKMSKey, arn: arn, id: aws.ToString(k.KeyId), region: env.Region, account: env.AccountID,
				tags: tags, raw: m}.asset())
			return nil
		})
		if err != nil {
			return err
		}
		b.merge(parts)
	}
	return nil
}

// collectTrails lists the trails whose home is this region (shadow copies of
// multi-region trails are left to their home region).
func collectTrails(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := cloudtrail.NewFromConfig(env.Config)
	out, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		return fmt.Errorf("describe trails: %w", err)
	}
	var home []cttypes.Trail
	for _, t := range out.TrailList {
		if h := aws.ToString(t.HomeRegion); h == "" || h == env.Region {
			home = append(home, t)
		}
	}
	tags := map[string]map[string]string{}
	for i := 0; i < len(home); i += 20 {
		var arns []string
		for _, t := range home[i:min(i+20, len(home))] {
			arns = append(arns, aws.ToString(t.TrailARN))
		}
		p := cloudtrail.NewListTagsPaginator(c, &cloudtrail.ListTagsInput{ResourceIdList: arns})
		for p.HasMorePages() {
			tg, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("trail tags: %w", err)
			}
			for _, r := range tg.ResourceTagList {
				tags[aws.ToString(r.ResourceId)] = tagMap(r.TagsList, func(t cttypes.Tag) (*string, *string) { return t.Key, t.Value })
			}
		}
	}
	for _, t := range home {
		arn := aws.ToString(t.TrailARN)
		b.add(resource{typ: TypeCloudTrail, arn: arn, id: aws.ToString(t.Name), region: env.Region, account: env.AccountID, tags: tags[arn], raw: t}.asset())
		if bk := aws.ToString(t.S3BucketName); bk != "" {
			b.edge(arn, S3BucketARN(env.Partition, bk), citadel.RelTrailBucket)
		}
		b.edge(arn, KMSKeyARN(env.Region, env.AccountID, aws.ToString(t.KmsKeyId)), citadel.RelEncryptedBy)
	}
	return nil
}

func collectLoadBalancers(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := elb.NewFromConfig(env.Config)
	p := elb.NewDescribeLoadBalancersPaginator(c, &elb.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe load balancers: %w", err)
		}
		tags := map[string]map[string]string{}
		for i := 0; i < len(out.LoadBalancers); i += 20 {
			var arns []string
			for _, lb := range out.LoadBalancers[i:min(i+20, len(out.LoadBalancers))] {
				arns = append(arns, aws.ToString(lb.LoadBalancerArn))
			}
			tg, err := c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns})
			if err != nil {
				return fmt.Errorf("load balancer tags: %w", err)
			}
			for _, d := range tg.TagDescriptions {
				tags[aws.ToString(d.ResourceArn)] = tagMap(d.Tags, func(t elbtypes.Tag) (*string, *string) { return t.Key, t.Value })
			}
		}
		for _, lb := range out.LoadBalancers {
			arn := aws.ToString(lb.LoadBalancerArn)
			b.add(resource{typ: TypeLoadBalancer, arn: arn, id: aws.ToString(lb.LoadBalancerName), region: env.Region,
				account: env.AccountID, tags: tags[arn], raw: lb}.asset())
			if v := aws.ToString(lb.VpcId); v != "" {
				b.edge(arn, EC2ARN(env.Region, env.AccountID, "vpc", v), citadel.RelLoadBalancerVPC)
			}
			for _, az := range lb.AvailabilityZones {
				if s := aws.ToString(az.SubnetId); s != "" {
					b.edge(arn, EC2ARN(env.Region, env.AccountID, "subnet", s), citadel.RelLoadBalancerSubnet)
				}
			}
			for _, sg := range lb.SecurityGroups {
				b.edge(arn, EC2ARN(env.Region, env.AccountID, "security-group", sg), citadel.RelLoadBalancerSecGroup)
			}
		}
	}
	return nil
}

func collectClusters(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := ecs.NewFromConfig(env.Config)
	p := ecs.NewListClustersPaginator(c, &ecs.ListClustersInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list clusters: %w", err)
		}
		for i := 0; i < len(out.ClusterArns); i += 100 {
			d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{
				Clusters: out.ClusterArns[i:min(i+100, len(out.ClusterArns))],
				Include:  []ecstypes.ClusterField{ecstypes.ClusterFieldTags, ecstypes.ClusterFieldSettings, ecstypes.ClusterFieldConfigurations},
			})
			if err != nil {
				return fmt.Errorf("describe clusters: %w", err)
			}
			for _, cl := range d.Clusters {
				arn := aws.ToString(cl.ClusterArn) // Prowler keeps ListClusters' ARN, the same string
				b.add(resource{typ: TypeECSCluster, arn: arn, id: aws.ToString(cl.ClusterName), region: env.Region, account: env.AccountID,
					tags: tagMap(cl.Tags, func(t ecstypes.Tag) (*string, *string) { return t.Key, t.Value }), raw: cl,
					volatile: []string{"ActiveServicesCount", "PendingTasksCount", "RunningTasksCount", "RegisteredContainerInstancesCount", "Statistics"}}.asset())
			}
		}
	}
	return nil
}

func collectTopics(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := sns.NewFromConfig(env.Config)
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		parts := make([]Batch, len(out.Topics))
		err = each(ctx, out.Topics, func(ctx context.Context, i int, t snstypes.Topic) error {
			arn := aws.ToString(t.TopicArn)
			at, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: t.TopicArn})
			if err != nil {
				return fmt.Errorf("topic %s attributes: %w", arn, err)
			}
			tg, err := c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: t.TopicArn})
			if err != nil {
				return fmt.Errorf("topic %s tags: %w", arn, err)
			}
			parts[i].add(resource{typ: TypeSNSTopic, arn: arn, id: lastPart(arn, ":"), region: env.Region, account: env.AccountID,
				tags: tagMap(tg.Tags, func(t snstypes.Tag) (*string, *string) { return t.Key, t.Value }), raw: at.Attributes,
				volatile: []string{"SubscriptionsConfirmed", "SubscriptionsPending", "SubscriptionsDeleted"}}.asset())
			parts[i].edge(arn, KMSKeyARN(env.Region, env.AccountID, at.Attributes["KmsMasterKeyId"]), citadel.RelEncryptedBy)
			return nil
		})
		if err != nil {
			return err
		}
		b.merge(parts)
	}
	return nil
}

func collectQueues(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := sqs.NewFromConfig(env.Config)
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list queues: %w", err)
		}
		parts := make([]Batch, len(out.QueueUrls))
		err = each(ctx, out.QueueUrls, func(ctx context.Context, i int, url string) error {
			arn := SQSQueueARN(env.Region, env.AccountID, url)
			at, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
			if err != nil {
				return fmt.Errorf("queue %s attributes: %w", url, err)
			}
			tg, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
			if err != nil {
				return fmt.Errorf("queue %s tags: %w", url, err)
			}
			parts[i].add(resource{typ: TypeSQSQueue, arn: arn, id: lastPart(url, "/"), region: env.Region, account: env.AccountID,
				tags: mapTags(tg.Tags), raw: at.Attributes,
				volatile: []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}}.asset())
			parts[i].edge(arn, KMSKeyARN(env.Region, env.AccountID, at.Attributes["KmsMasterKeyId"]), citadel.RelEncryptedBy)
			return nil
		})
		if err != nil {
			return err
		}
		b.merge(parts)
	}
	return nil
}

func collectSecrets(ctx context.Context, env Env, _ []string, b *Batch) error {
	p := secretsmanager.NewListSecretsPaginator(secretsmanager.NewFromConfig(env.Config), &secretsmanager.ListSecretsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list secrets: %w", err)
		}
		for _, s := range out.SecretList {
			arn := aws.ToString(s.ARN)
			b.add(resource{typ: TypeSecret, arn: arn, id: aws.ToString(s.Name), region: env.Region, account: env.AccountID,
				tags: tagMap(s.Tags, func(t smtypes.Tag) (*string, *string) { return t.Key, t.Value }), raw: s,
				volatile: []string{"LastAccessedDate"}}.asset())
			b.edge(arn, KMSKeyARN(env.Region, env.AccountID, aws.ToString(s.KmsKeyId)), citadel.RelEncryptedBy)
		}
	}
	return nil
}

func collectLogGroups(ctx context.Context, env Env, _ []string, b *Batch) error {
	c := cloudwatchlogs.NewFromConfig(env.Config)
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, &cloudwatchlogs.DescribeLogGroupsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe log groups: %w", err)
		}
		parts := make([]Batch, len(out.LogGroups))
		err = each(ctx, out.LogGroups, func(ctx context.Context, i int, g logstypes.LogGroup) error {
			name := aws.ToString(g.LogGroupName)
			arn := aws.ToString(g.Arn) // Prowler's ARN: the one ending in ":*"
			if arn == "" {
				arn = LogGroupARN(env.Region, env.AccountID, name)
			}
			tg, err := c.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(strings.TrimSuffix(arn, ":*"))})
			if err != nil {
				return fmt.Errorf("log group %s tags: %w", name, err)
			}
			parts[i].add(resource{typ: TypeLogGroup, arn: arn, id: name, region: env.Region, account: env.AccountID, tags: mapTags(tg.Tags), raw: g,
				volatile: []string{"StoredBytes", "MetricFilterCount"}}.asset())
			parts[i].edge(arn, KMSKeyARN(env.Region, env.AccountID, aws.ToString(g.KmsKeyId)), citadel.RelEncryptedBy)
			return nil
		})
		if err != nil {
			return err
		}
		b.merge(parts)
	}
	return nil
}
