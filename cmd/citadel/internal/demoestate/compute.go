package demoestate

import (
	"archive/zip"
	"bytes"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/citadelsecure/citadel/shared/inventory"
)

// compute: two web instances with the instance profile in us-east-1 (one
// behind the open SSH group), a worker without a profile in eu-west-1, an
// unencrypted and an encrypted volume, a Lambda function.
func (s *seeder) compute(east, west aws.Config) {
	amis := map[string]*string{}
	ami := func(c *ec2.Client, region string) *string {
		if id, ok := amis[region]; ok {
			return id
		}
		// One small image by name: listing every public image is slow.
		imgs, err := c.DescribeImages(s.ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
			Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{baseImage}}}})
		if err == nil && len(imgs.Images) == 0 {
			imgs, err = c.DescribeImages(s.ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
		}
		if !s.ok("describe images", err) {
			return nil
		}
		if len(imgs.Images) == 0 {
			s.ok("describe images", errors.New("no AMI to launch"))
			return nil
		}
		amis[region] = imgs.Images[0].ImageId
		return amis[region]
	}
	run := func(cfg aws.Config, name, subnet string, sgs []string, profile string) {
		c := ec2.NewFromConfig(cfg)
		image := ami(c, cfg.Region)
		if image == nil {
			return
		}
		var ids []string
		for _, g := range sgs {
			ids = append(ids, lastID(s.e.Resources[g]))
		}
		in := &ec2.RunInstancesInput{ImageId: image, InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(lastID(s.e.Resources[subnet])), SecurityGroupIds: ids, TagSpecifications: tags(ec2types.ResourceTypeInstance, name),
			// A fixed idempotency token (the SDK draws a random one): a re-seeded estate describes the same.
			ClientToken: aws.String("citadel-demo-instance-" + name)}
		if profile != "" {
			in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Arn: aws.String(s.e.Resources[profile])}
		}
		out, err := c.RunInstances(s.ctx, in)
		if !s.ok("instance "+name, err) {
			return
		}
		s.res("instance-"+name, inventory.EC2ARN(cfg.Region, s.account, "instance", aws.ToString(out.Instances[0].InstanceId)))
		if profile != "" {
			s.add("ec2_instance_profile_attached", "instance-"+name, "PASS")
		} else {
			s.add("ec2_instance_profile_attached", "instance-"+name, "FAIL")
		}
	}
	run(east, "web-1", "subnet-east-a", []string{"sg-web-east", "sg-ssh-open-east"}, "instance-profile")
	run(east, "web-2", "subnet-east-b", []string{"sg-web-east", "sg-internal-east"}, "instance-profile")
	run(west, "worker-eu", "subnet-west-a", []string{"sg-internal-west"}, "")
	if s.err != nil {
		return
	}
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "sg-ssh-open-east", "FAIL")
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "sg-web-east", "PASS")
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "sg-internal-east", "PASS")
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389", "sg-ssh-open-east", "PASS")

	c := ec2.NewFromConfig(east)
	for _, v := range []struct {
		name      string
		encrypted bool
	}{{"scratch", false}, {"data", true}} {
		in := &ec2.CreateVolumeInput{AvailabilityZone: aws.String(East + "a"), Size: aws.Int32(20), Encrypted: aws.Bool(v.encrypted),
			TagSpecifications: tags(ec2types.ResourceTypeVolume, v.name), ClientToken: aws.String("citadel-demo-volume-" + v.name)}
		if v.encrypted {
			in.KmsKeyId = aws.String(s.e.Resources["key-east"])
		}
		out, err := c.CreateVolume(s.ctx, in)
		if !s.ok("volume "+v.name, err) {
			return
		}
		s.res("volume-"+v.name, inventory.EC2ARN(East, s.account, "volume", aws.ToString(out.VolumeId)))
		s.add("ec2_ebs_volume_encryption", "volume-"+v.name, map[bool]string{true: "PASS", false: "FAIL"}[v.encrypted])
	}
	_, err := c.AttachVolume(s.ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(lastID(s.e.Resources["volume-data"])),
		InstanceId: aws.String(lastID(s.e.Resources["instance-web-1"])), Device: aws.String("/dev/sdf")})
	if !s.ok("attach volume", err) {
		return
	}

	lc := lambda.NewFromConfig(east)
	fn, err := lc.CreateFunction(s.ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("orders-api"), Role: aws.String(s.e.Resources["lambda-role"]), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: lambdaZip()},
		VpcConfig: &lambdatypes.VpcConfig{SubnetIds: []string{lastID(s.e.Resources["subnet-east-a"])}, SecurityGroupIds: []string{lastID(s.e.Resources["sg-internal-east"])}},
		Tags:      map[string]string{"team": "orders"},
	})
	var arn string
	if err == nil {
		arn = aws.ToString(fn.FunctionArn)
	}
	var conflict *lambdatypes.ResourceConflictException
	if errors.As(err, &conflict) {
		// A create the SDK retried (a slow answer on a loaded machine) and
		// whose first attempt made it: the function is the one asked for.
		got, gerr := lc.GetFunction(s.ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")})
		if gerr == nil {
			arn, err = aws.ToString(got.Configuration.FunctionArn), nil
		}
	}
	if !s.ok("lambda function", err) {
		return
	}
	s.res("function-orders-api", arn)
	s.add("awslambda_function_not_publicly_accessible", "function-orders-api", "PASS")
}

// baseImage is the name of one of the local server's stock images.
const baseImage = "ubuntu/images/hvm-ssd/ubuntu-trusty-14.04-amd64-server-20170727"

func lambdaZip() []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("bootstrap")
	_, _ = f.Write([]byte("#!/bin/sh\necho ok\n"))
	_ = w.Close()
	return buf.Bytes()
}
