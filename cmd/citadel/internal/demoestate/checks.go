package demoestate

// Checks are the checks whose outcome on the estate is known (Expect): the
// end-to-end test's check set, 20 checks over 10 services.
var Checks = []string{
	"cloudwatch_log_group_retention_policy_specific_days_enabled",
	"dynamodb_tables_kms_cmk_encryption_enabled",
	"dynamodb_tables_pitr_enabled",
	"ec2_ebs_volume_encryption",
	"ec2_instance_profile_attached",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
	"iam_customer_attached_policy_no_administrative_privileges",
	"iam_user_mfa_enabled_console_access",
	"kms_cmk_rotation_enabled",
	"rds_instance_storage_encrypted",
	"s3_bucket_kms_encryption",
	"s3_bucket_level_public_access_block",
	"s3_bucket_object_versioning",
	"s3_bucket_secure_transport_policy",
	"secretsmanager_automatic_rotation_enabled",
	"sns_topics_kms_encryption_at_rest_enabled",
	"sqs_queues_server_side_encryption_enabled",
	"vpc_flow_logs_enabled",
	"awslambda_function_not_publicly_accessible",
}

// DemoChecks are the demo's check set: Checks and more over the same
// services (public access, backups, key rotation, detective services), 48
// checks, every one mapped to SOC 2, ISO 27001:2022 or CIS Controls 8.1.
// The demo's integration pins them (Integration.Checks): all the mapped
// checks of the three frameworks (511) take Prowler many minutes against
// the local server, most of it on services it does not emulate.
var DemoChecks = append(append([]string{}, Checks...),
	// No asset to hold these findings (the regional "no trail" finding
	// and the account's password policy): their results are skipped.
	"cloudtrail_multi_region_enabled",
	"iam_password_policy_minimum_length_14",
	"cloudtrail_kms_encryption_enabled",
	"cloudtrail_log_file_validation_enabled",
	"cloudwatch_log_group_kms_encryption_enabled",
	"config_recorder_all_regions_enabled",
	"ec2_ebs_default_encryption",
	"ec2_instance_imdsv2_enabled",
	"ec2_instance_public_ip",
	"ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
	"ec2_securitygroup_default_restrict_traffic",
	"guardduty_is_enabled",
	"iam_aws_attached_policy_no_administrative_privileges",
	"iam_inline_policy_no_administrative_privileges",
	"iam_no_root_access_key",
	"iam_password_policy_reuse_24",
	"iam_rotate_access_key_90_days",
	"iam_user_accesskey_unused",
	"kms_key_not_publicly_accessible",
	"rds_instance_backup_enabled",
	"rds_instance_deletion_protection",
	"rds_instance_multi_az",
	"rds_instance_no_public_access",
	"s3_bucket_server_access_logging_enabled",
	"securityhub_enabled",
	"secretsmanager_not_publicly_accessible",
	"sns_topics_not_publicly_accessible",
	"sqs_queues_not_publicly_accessible",
)
