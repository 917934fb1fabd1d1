package inventory

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Resource types of the EC2 collectors.
const (
	TypeEC2Instance     = "ec2:instance"
	TypeEBSVolume       = "ec2:volume"
	TypeVPC             = "ec2:vpc"
	TypeSubnet          = "ec2:subnet"
	TypeSecurityGroup   = "ec2:security-group"
	TypeInternetGateway = "ec2:internet-gateway"
)

func ec2Tags(tags []types.Tag) map[string]string {
	return tagMap(tags, func(t types.Tag) (*string, *string) { return t.Key, t.Value })
}

// ec2Collector is the shape every EC2 collector shares.
type ec2Collector struct {
	typ     string
	collect func(ctx context.Context, c *ec2.Client, env Env, b *Batch) error
}

func (e ec2Collector) ResourceType() string { return e.typ }
func (e ec2Collector) Service() string      { return "ec2" }
func (e ec2Collector) Global() bool         { return false }
func (e ec2Collector) Collect(ctx context.Context, env Env, _ []string) (Batch, error) {
	var b Batch
	err := e.collect(ctx, ec2.NewFromConfig(env.Config), env, &b)
	return b, err
}

// EC2Collectors are the collectors of EC2 and VPC resources.
func EC2Collectors() []Collector {
	return []Collector{
		ec2Collector{TypeEC2Instance, collectInstances},
		ec2Collector{TypeEBSVolume, collectVolumes},
		ec2Collector{TypeVPC, collectVPCs},
		ec2Collector{TypeSubnet, collectSubnets},
		ec2Collector{TypeSecurityGroup, collectSecurityGroups},
		ec2Collector{TypeInternetGateway, collectInternetGateways},
	}
}

func collectInstances(ctx context.Context, c *ec2.Client, env Env, b *Batch) error {
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe instances: %w", err)
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				if in.State != nil && in.State.Name == types.InstanceStateNameTerminated {
					continue
				}
				id := aws.ToString(in.InstanceId)
				arn := EC2ARN(env.Region, env.AccountID, "instance", id)
				b.add(resource{typ: TypeEC2Instance, arn: arn, id: id, region: env.Region, account: env.AccountID,
					tags: ec2Tags(in.Tags), raw: in}.asset())
				if v := aws.ToString(in.VpcId); v != "" {
					b.edge(arn, EC2ARN(env.Region, env.AccountID, "vpc", v), citadel.RelInstanceInVPC)
				}
				if s := aws.ToString(in.SubnetId); s != "" {
					b.edge(arn, EC2ARN(env.Region, env.AccountID, "subnet", s), citadel.RelInstanceInSubnet)
				}
				for _, sg := range in.SecurityGroups {
					b.edge(arn, EC2ARN(env.Region, env.AccountID, "security-group", aws.ToString(sg.GroupId)), citadel.RelInstanceSecurityGroup)
				}
				if in.IamInstanceProfile != nil {
					// The profile stands for its roles: the IAM role collector
					// publishes the alias.
					b.edge(arn, aws.ToString(in.IamInstanceProfile.Arn), citadel.RelInstanceRole)
				}
			}
		}
	}
	return nil
}

func collectVolumes(ctx context.Context, c *ec2.Client, env Env, b *Batch) error {
	p := ec2.NewDescribeVolumesPaginator(c, &ec2.DescribeVolumesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe volumes: %w", err)
		}
		for _, v := range out.Volumes {
			id := aws.ToString(v.VolumeId)
			arn := EC2ARN(env.Region, env.AccountID, "volume", id)
			b.add(resource{typ: TypeEBSVolume, arn: arn, id: id, region: env.Region, account: env.AccountID,
				tags: ec2Tags(v.Tags), raw: v}.asset())
			for _, at := range v.Attachments {
				b.edge(arn, EC2ARN(env.Region, env.AccountID, "instance", aws.ToString(at.InstanceId)), citadel.RelVolumeAttached)
			}
			b.edge(arn, KMSKeyARN(env.Region, env.AccountID, aws.ToString(v.KmsKeyId)), citadel.RelEncryptedBy)
		}
	}
	return nil
}

func collectVPCs(ctx context.Context, c *ec2.Client, env Env, b *Batch) error {
	p := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe vpcs: %w", err)
		}
		for _, v := range out.Vpcs {
			id := aws.ToString(v.VpcId)
			b.add(resource{typ: TypeVPC, arn: EC2ARN(env.Region, env.AccountID, "vpc", id), id: id, region: env.Region,
				account: env.AccountID, tags: ec2Tags(v.Tags), raw: v}.asset())
		}
	}
	return nil
}

func collectSubnets(ctx context.Context, c *ec2.Client, env Env, b *Batch) error {
	p := ec2.NewDescribeSubnetsPaginator(c, &ec2.DescribeSubnetsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe subnets: %w", err)
		}
		for _, s := range out.Subnets {
			id := aws.ToString(s.SubnetId)
			arn := aws.ToString(s.SubnetArn) // Prowler uses SubnetArn as returned
			if arn == "" {
				arn = EC2ARN(env.Region, env.AccountID, "subnet", id)
			}
			b.add(resource{typ: TypeSubnet, arn: arn, id: id, region: env.Region, account: env.AccountID,
				tags: ec2Tags(s.Tags), raw: s, volatile: []string{"AvailableIpAddressCount"}}.asset())
			b.edge(arn, EC2ARN(env.Region, env.AccountID, "vpc", aws.ToString(s.VpcId)), citadel.RelSubnetInVPC)
		}
	}
	return nil
}

func collectSecurityGroups(ctx context.Context, c *ec2.Client, env Env, b *Batch) error {
	p := ec2.NewDescribeSecurityGroupsPaginator(c, &ec2.DescribeSecurityGroupsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe security groups: %w", err)
		}
		for _, sg := range out.SecurityGroups {
			id := aws.ToString(sg.GroupId)
			arn := EC2ARN(env.Region, env.AccountID, "security-group", id)
			r := resource{typ: TypeSecurityGroup, arn: arn, id: id, region: env.Region, account: env.AccountID,
				tags: ec2Tags(sg.Tags), raw: sg}
			if r.tags["Name"] == "" {
				r.id = aws.ToString(sg.GroupName)
			}
			b.add(r.asset())
			if v := aws.ToString(sg.VpcId); v != "" {
				b.edge(arn, EC2ARN(env.Region, env.AccountID, "vpc", v), citadel.RelSecurityGroupInVPC)
			}
		}
	}
	return nil
}

func collectInternetGateways(ctx context.Context, c *ec2.Client, env Env, b *Batch) error {
	p := ec2.NewDescribeInternetGatewaysPaginator(c, &ec2.DescribeInternetGatewaysInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe internet gateways: %w", err)
		}
		for _, g := range out.InternetGateways {
			id := aws.ToString(g.InternetGatewayId)
			arn := EC2ARN(env.Region, env.AccountID, "internet-gateway", id)
			b.add(resource{typ: TypeInternetGateway, arn: arn, id: id, region: env.Region, account: env.AccountID,
				tags: ec2Tags(g.Tags), raw: g}.asset())
			for _, at := range g.Attachments {
				b.edge(arn, EC2ARN(env.Region, env.AccountID, "vpc", aws.ToString(at.VpcId)), citadel.RelInternetGatewayVPC)
			}
		}
	}
	return nil
}

// EnabledRegions lists the account's enabled regions (ec2:DescribeRegions
// without AllRegions returns only those), sorted.
func EnabledRegions(ctx context.Context, cfg aws.Config) ([]string, error) {
	out, err := ec2.NewFromConfig(cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %w", err)
	}
	var regions []string
	for _, r := range out.Regions {
		if aws.ToString(r.OptInStatus) == "not-opted-in" {
			continue
		}
		regions = append(regions, aws.ToString(r.RegionName))
	}
	sortStrings(regions)
	return regions, nil
}
