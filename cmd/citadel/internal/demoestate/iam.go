package demoestate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

const trustEC2Lambda = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`

// iam: a console user without MFA and with access keys, an API-only user,
// a group with an administrator policy, roles for EC2 and Lambda, a
// read-only customer policy; no password policy.
func (s *seeder) iam(east, _ aws.Config) {
	c := iam.NewFromConfig(east)
	user := func(name string, console bool) {
		out, err := c.CreateUser(s.ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		if !s.ok("user "+name, err) {
			return
		}
		s.res("user-"+name, aws.ToString(out.User.Arn))
		if console {
			_, err = c.CreateLoginProfile(s.ctx, &iam.CreateLoginProfileInput{UserName: aws.String(name), Password: aws.String("Correct-Horse-9")})
			s.ok("login profile "+name, err)
		}
		_, err = c.CreateAccessKey(s.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		s.ok("access key "+name, err)
	}
	user("alice", true)
	user("bob", false)
	if s.err != nil {
		return
	}
	s.add("iam_user_mfa_enabled_console_access", "user-alice", "FAIL")
	s.add("iam_user_mfa_enabled_console_access", "user-bob", "PASS")

	policy := func(name, doc string) string {
		out, err := c.CreatePolicy(s.ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		if !s.ok("policy "+name, err) {
			return ""
		}
		return s.res("policy-"+name, aws.ToString(out.Policy.Arn))
	}
	admin := policy("ops-admin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	read := policy("app-read", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","dynamodb:GetItem"],"Resource":"*"}]}`)
	g, err := c.CreateGroup(s.ctx, &iam.CreateGroupInput{GroupName: aws.String("ops")})
	if !s.ok("group ops", err) {
		return
	}
	s.res("group-ops", aws.ToString(g.Group.Arn))
	_, err = c.AddUserToGroup(s.ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: aws.String("alice")})
	s.ok("add alice to ops", err)
	_, err = c.AttachGroupPolicy(s.ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("ops"), PolicyArn: aws.String(admin)})
	s.ok("attach ops-admin", err)
	s.add("iam_customer_attached_policy_no_administrative_privileges", "policy-ops-admin", "FAIL")

	for _, role := range []string{"app-role", "lambda-role"} {
		r, err := c.CreateRole(s.ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(trustEC2Lambda)})
		if !s.ok("role "+role, err) {
			return
		}
		s.res(role, aws.ToString(r.Role.Arn))
	}
	_, err = c.AttachRolePolicy(s.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app-role"), PolicyArn: aws.String(read)})
	s.ok("attach app-read", err)
	s.add("iam_customer_attached_policy_no_administrative_privileges", "policy-app-read", "PASS")
	ip, err := c.CreateInstanceProfile(s.ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	if !s.ok("instance profile", err) {
		return
	}
	s.res("instance-profile", aws.ToString(ip.InstanceProfile.Arn))
	_, err = c.AddRoleToInstanceProfile(s.ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("app-role")})
	s.ok("add role to profile", err)
}
