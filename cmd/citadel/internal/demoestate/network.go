package demoestate

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/citadelsecure/citadel/shared/inventory"
)

func tags(rt ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

// network: a VPC per region with two subnets; in us-east-1 a security
// group open to the world on 22, one open on 443 and an internal one; no
// flow logs anywhere.
func (s *seeder) network(east, west aws.Config) {
	for _, r := range []struct {
		cfg    aws.Config
		suffix string
		cidr   string
	}{{east, "east", "10.10"}, {west, "west", "10.20"}} {
		c := ec2.NewFromConfig(r.cfg)
		v, err := c.CreateVpc(s.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(r.cidr + ".0.0/16"), TagSpecifications: tags(ec2types.ResourceTypeVpc, "app-"+r.suffix)})
		if !s.ok("vpc "+r.suffix, err) {
			return
		}
		vpcID := aws.ToString(v.Vpc.VpcId)
		s.res("vpc-"+r.suffix, inventory.EC2ARN(r.cfg.Region, s.account, "vpc", vpcID))
		s.add("vpc_flow_logs_enabled", "vpc-"+r.suffix, "FAIL")
		for i, az := range []string{"a", "b"} {
			sn, err := c.CreateSubnet(s.ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("%s.%d.0/24", r.cidr, i+1)),
				AvailabilityZone: aws.String(r.cfg.Region + az), TagSpecifications: tags(ec2types.ResourceTypeSubnet, "app-"+r.suffix+"-"+az)})
			if !s.ok("subnet", err) {
				return
			}
			s.res("subnet-"+r.suffix+"-"+az, inventory.EC2ARN(r.cfg.Region, s.account, "subnet", aws.ToString(sn.Subnet.SubnetId)))
		}
		sgs := []struct {
			name, cidr string
			port       int32
		}{{"web", "0.0.0.0/0", 443}, {"internal", "10.0.0.0/8", 22}}
		if r.suffix == "east" {
			sgs = append(sgs, struct {
				name, cidr string
				port       int32
			}{"ssh-open", "0.0.0.0/0", 22})
		}
		for _, g := range sgs {
			out, err := c.CreateSecurityGroup(s.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(g.name), Description: aws.String("citadel demo " + g.name), VpcId: v.Vpc.VpcId})
			if !s.ok("security group "+g.name, err) {
				return
			}
			_, err = c.AuthorizeSecurityGroupIngress(s.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId,
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(g.port), ToPort: aws.Int32(g.port),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String(g.cidr)}}}}})
			if !s.ok("ingress "+g.name, err) {
				return
			}
			s.res("sg-"+g.name+"-"+r.suffix, inventory.EC2ARN(r.cfg.Region, s.account, "security-group", aws.ToString(out.GroupId)))
		}
	}
}
