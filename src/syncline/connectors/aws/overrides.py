"""The reviewed table of everything generation cannot derive from botocore's models.

Read only by the generator (``generate.py``); the runtime reads the catalogue it writes. Each
entry is a decision taken by a person, not a guess made at run time:

- which services are covered, and under which CloudQuery prefix (``logs`` is
  ``cloudwatchlogs``, ``events`` is ``eventbridge``, ...);
- CloudQuery's exact name for a table whose operation name does not give it
  (``DescribeAddresses`` is ``aws_ec2_eips``);
- operations left out (public catalogues, per-call costs, operations that need input the
  source cannot know) and fixed input (``Owners=["self"]`` for EC2 images);
- ARNs that the API does not return but CloudQuery builds (EC2 resources);
- global services, read once per account from their home region.
"""

from __future__ import annotations

# botocore service name -> CloudQuery's prefix (the default: the name without dashes).
SERVICES: dict[str, str] = {
    "accessanalyzer": "accessanalyzer",
    "acm": "acm",
    "acm-pca": "acmpca",
    "amp": "amp",
    "apigateway": "apigateway",
    "apigatewayv2": "apigatewayv2",
    "appconfig": "appconfig",
    "application-autoscaling": "applicationautoscaling",
    "appmesh": "appmesh",
    "apprunner": "apprunner",
    "appsync": "appsync",
    "athena": "athena",
    "autoscaling": "autoscaling",
    "backup": "backup",
    "batch": "batch",
    "cloudformation": "cloudformation",
    "cloudfront": "cloudfront",
    "cloudhsmv2": "cloudhsmv2",
    "cloudtrail": "cloudtrail",
    "cloudwatch": "cloudwatch",
    "codebuild": "codebuild",
    "codecommit": "codecommit",
    "codepipeline": "codepipeline",
    "cognito-identity": "cognito",
    "cognito-idp": "cognito",
    "config": "config",
    "dax": "dax",
    "directconnect": "directconnect",
    "dms": "dms",
    "docdb": "docdb",
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodbstreams",
    "ec2": "ec2",
    "ecr": "ecr",
    "ecs": "ecs",
    "efs": "efs",
    "eks": "eks",
    "elasticache": "elasticache",
    "elasticbeanstalk": "elasticbeanstalk",
    "elb": "elbv1",
    "elbv2": "elbv2",
    "emr": "emr",
    "es": "elasticsearch",
    "events": "eventbridge",
    "firehose": "firehose",
    "fsx": "fsx",
    "glacier": "glacier",
    "glue": "glue",
    "guardduty": "guardduty",
    "iam": "iam",
    "identitystore": "identitystore",
    "inspector2": "inspector2",
    "iot": "iot",
    "kafka": "kafka",
    "kinesis": "kinesis",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "cloudwatchlogs",
    "mq": "mq",
    "neptune": "neptune",
    "network-firewall": "networkfirewall",
    "networkmanager": "networkmanager",
    "opensearch": "opensearch",
    "organizations": "organizations",
    "ram": "ram",
    "rds": "rds",
    "redshift": "redshift",
    "resource-groups": "resourcegroups",
    "route53": "route53",
    "route53domains": "route53",
    "route53resolver": "route53resolver",
    "s3": "s3",
    "sagemaker": "sagemaker",
    "scheduler": "scheduler",
    "secretsmanager": "secretsmanager",
    "securityhub": "securityhub",
    "servicecatalog": "servicecatalog",
    "servicediscovery": "servicediscovery",
    "ses": "ses",
    "sesv2": "ses",
    "shield": "shield",
    "signer": "signer",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "sso-admin": "ssoadmin",
    "stepfunctions": "stepfunctions",
    "timestream-write": "timestream",
    "transfer": "transfer",
    "wafv2": "wafv2",
    "workspaces": "workspaces",
    "xray": "xray",
}

# Services with one endpoint per partition: read once per account, from this region; their
# rows have region "aws-global".
GLOBAL_SERVICES: dict[str, str] = {
    "iam": "us-east-1",
    "organizations": "us-east-1",
    "route53": "us-east-1",
    "route53domains": "us-east-1",
    "cloudfront": "us-east-1",
    "shield": "us-east-1",
    "networkmanager": "us-west-2",
}

# (service, operation) -> CloudQuery's table name, where the operation name does not give it.
TABLE_NAMES: dict[tuple[str, str], str] = {
    ("ec2", "DescribeAddresses"): "aws_ec2_eips",
    ("ec2", "DescribeSnapshots"): "aws_ec2_ebs_snapshots",
    ("ec2", "DescribeVolumes"): "aws_ec2_ebs_volumes",
    ("ec2", "DescribeVolumeStatus"): "aws_ec2_ebs_volume_statuses",
    ("ec2", "DescribeInstanceStatus"): "aws_ec2_instance_statuses",
    ("ec2", "DescribeInstances"): "aws_ec2_instances",
    ("ec2", "DescribeAvailabilityZones"): "aws_availability_zones",
    ("ec2", "DescribeRegions"): "aws_regions",
    ("ec2", "DescribeVpcEndpointServices"): "aws_ec2_vpc_endpoint_services",
    ("rds", "DescribeDBInstances"): "aws_rds_instances",
    ("rds", "DescribeDBClusters"): "aws_rds_clusters",
    ("rds", "DescribeDBSubnetGroups"): "aws_rds_subnet_groups",
    ("rds", "DescribeDBClusterSnapshots"): "aws_rds_cluster_snapshots",
    ("rds", "DescribeDBClusterParameterGroups"): "aws_rds_cluster_parameter_groups",
    ("rds", "DescribeDBEngineVersions"): "aws_rds_engine_versions",
    ("rds", "DescribeReservedDBInstances"): "aws_rds_reserved_instances",
    ("rds", "DescribeDBProxies"): "aws_db_proxies",
    ("docdb", "DescribeDBClusters"): "aws_docdb_clusters",
    ("docdb", "DescribeDBInstances"): "aws_docdb_instances",
    ("docdb", "DescribeDBSubnetGroups"): "aws_docdb_subnet_groups",
    ("docdb", "DescribeDBClusterSnapshots"): "aws_docdb_cluster_snapshots",
    ("docdb", "DescribeDBClusterParameterGroups"): "aws_docdb_cluster_parameter_groups",
    ("docdb", "DescribeDBEngineVersions"): "aws_docdb_engine_versions",
    ("neptune", "DescribeDBClusters"): "aws_neptune_clusters",
    ("neptune", "DescribeDBInstances"): "aws_neptune_instances",
    ("neptune", "DescribeDBSubnetGroups"): "aws_neptune_subnet_groups",
    ("neptune", "DescribeDBClusterSnapshots"): "aws_neptune_cluster_snapshots",
    ("neptune", "DescribeDBClusterParameterGroups"): "aws_neptune_cluster_parameter_groups",
    ("neptune", "DescribeDBParameterGroups"): "aws_neptune_db_parameter_groups",
    ("elasticache", "DescribeCacheClusters"): "aws_elasticache_clusters",
    ("elasticache", "DescribeCacheEngineVersions"): "aws_elasticache_engine_versions",
    ("elasticache", "DescribeCacheParameterGroups"): "aws_elasticache_parameter_groups",
    ("elasticache", "DescribeCacheSubnetGroups"): "aws_elasticache_subnet_groups",
    ("elasticache", "DescribeReservedCacheNodesOfferings"): (
        "aws_elasticache_reserved_cache_nodes_offerings"
    ),
    ("iam", "ListAccessKeys"): "aws_iam_user_access_keys",
    ("iam", "ListAttachedUserPolicies"): "aws_iam_user_attached_policies",
    ("iam", "ListAttachedRolePolicies"): "aws_iam_role_attached_policies",
    ("iam", "ListAttachedGroupPolicies"): "aws_iam_group_attached_policies",
    ("iam", "ListGroupsForUser"): "aws_iam_user_groups",
    ("iam", "ListOpenIDConnectProviders"): "aws_iam_openid_connect_identity_providers",
    ("iam", "ListSAMLProviders"): "aws_iam_saml_identity_providers",
    ("logs", "DescribeSubscriptionFilters"): "aws_cloudwatchlogs_log_group_subscription_filters",
    ("lambda", "ListAliases"): "aws_lambda_function_aliases",
    ("lambda", "ListVersionsByFunction"): "aws_lambda_function_versions",
    ("lambda", "ListFunctionUrlConfigs"): "aws_lambda_function_url_configs",
    ("lambda", "ListLayerVersions"): "aws_lambda_layer_versions",
    ("cloudwatch", "DescribeAlarms"): "aws_cloudwatch_alarms",
    ("es", "ListDomainNames"): "aws_elasticsearch_domains",
    ("elb", "DescribeLoadBalancers"): "aws_elbv1_load_balancers",
    ("efs", "DescribeFileSystems"): "aws_efs_filesystems",
    ("route53domains", "ListDomains"): "aws_route53_domains",
    ("route53", "ListResourceRecordSets"): "aws_route53_hosted_zone_resource_record_sets",
    ("sns", "ListSubscriptions"): "aws_sns_subscriptions",
    ("ssm", "DescribeInstanceInformation"): "aws_ssm_instances",
    ("ssm", "DescribeParameters"): "aws_ssm_parameters",
    ("ssm", "ListDocuments"): "aws_ssm_documents",
    ("ssm", "ListDocumentVersions"): "aws_ssm_document_versions",
    ("sso-admin", "ListInstances"): "aws_ssoadmin_instances",
    ("secretsmanager", "ListSecretVersionIds"): "aws_secretsmanager_secret_versions",
    ("apigateway", "GetRestApis"): "aws_apigateway_rest_apis",
    ("apigateway", "GetResources"): "aws_apigateway_rest_api_resources",
    ("apigateway", "GetDeployments"): "aws_apigateway_rest_api_deployments",
    ("apigateway", "GetAuthorizers"): "aws_apigateway_rest_api_authorizers",
    ("apigateway", "GetModels"): "aws_apigateway_rest_api_models",
    ("apigateway", "GetStages"): "aws_apigateway_rest_api_stages",
    ("apigateway", "GetRequestValidators"): "aws_apigateway_rest_api_request_validators",
    ("apigateway", "GetGatewayResponses"): "aws_apigateway_rest_api_gateway_responses",
    ("apigateway", "GetDocumentationParts"): "aws_apigateway_rest_api_documentation_parts",
    ("apigateway", "GetDocumentationVersions"): "aws_apigateway_rest_api_documentation_versions",
    ("apigateway", "GetUsagePlanKeys"): "aws_apigateway_usage_plan_keys",
    ("apigateway", "GetBasePathMappings"): "aws_apigateway_domain_name_base_path_mappings",
    ("apigatewayv2", "GetRoutes"): "aws_apigatewayv2_api_routes",
    ("apigatewayv2", "GetIntegrations"): "aws_apigatewayv2_api_integrations",
    ("apigatewayv2", "GetStages"): "aws_apigatewayv2_api_stages",
    ("apigatewayv2", "GetAuthorizers"): "aws_apigatewayv2_api_authorizers",
    ("apigatewayv2", "GetDeployments"): "aws_apigatewayv2_api_deployments",
    ("apigatewayv2", "GetModels"): "aws_apigatewayv2_api_models",
    ("apigatewayv2", "GetApiMappings"): "aws_apigatewayv2_domain_name_rest_api_mappings",
    ("ecs", "ListServices"): "aws_ecs_cluster_services",
    ("eks", "ListAddons"): "aws_eks_cluster_addons",
    ("eks", "ListNodegroups"): "aws_eks_cluster_node_groups",
    ("glue", "GetTables"): "aws_glue_database_tables",
    ("glue", "GetJobRuns"): "aws_glue_job_runs",
    ("guardduty", "ListFilters"): "aws_guardduty_detector_filters",
    ("kms", "ListGrants"): "aws_kms_key_grants",
    ("backup", "ListBackupVaults"): "aws_backup_vaults",
    ("backup", "ListBackupPlans"): "aws_backup_plans",
    ("backup", "ListBackupSelections"): "aws_backup_plan_selections",
    ("backup", "ListRecoveryPointsByBackupVault"): "aws_backup_vault_recovery_points",
    ("backup", "ListBackupJobs"): "aws_backup_jobs",
    ("cognito-idp", "ListIdentityProviders"): "aws_cognito_user_pool_identity_providers",
    ("elbv2", "DescribeListeners"): "aws_elbv2_listeners",
    ("elbv2", "DescribeRules"): "aws_elbv2_listener_rules",
    ("stepfunctions", "ListExecutions"): "aws_stepfunctions_executions",
    ("xray", "GetGroups"): "aws_xray_groups",
    ("xray", "GetSamplingRules"): "aws_xray_sampling_rules",
    ("wafv2", "ListIPSets"): "aws_wafv2_ipsets",
}

# Operations that are not tables: public catalogues (every AMI, every price, every instance
# type offering), per-call charges, or lists whose rows need input no parent row gives.
SKIP: set[tuple[str, str]] = {
    ("ec2", "DescribeSpotPriceHistory"),
    ("ec2", "DescribeInstanceTypeOfferings"),
    ("ec2", "DescribeInstanceTypes"),
    ("ec2", "DescribeReservedInstancesOfferings"),
    ("ec2", "DescribeHostReservationOfferings"),
    ("ec2", "DescribeCapacityBlockOfferings"),
    ("ec2", "DescribeImages"),  # replaced by the owned-only variant below
    ("ec2", "DescribePrefixLists"),
    ("ec2", "DescribeFpgaImages"),
    ("ec2", "GetSpotPlacementScores"),
    ("ec2", "DescribeInstanceImageMetadata"),
    ("ec2", "DescribeAwsNetworkPerformanceMetricSubscriptions"),
    ("rds", "DescribeOrderableDBInstanceOptions"),
    ("rds", "DescribeReservedDBInstancesOfferings"),
    ("rds", "DescribeDBEngineVersions"),
    ("docdb", "DescribeDBEngineVersions"),
    ("docdb", "DescribeOrderableDBInstanceOptions"),
    ("neptune", "DescribeDBEngineVersions"),
    ("neptune", "DescribeOrderableDBInstanceOptions"),
    ("elasticache", "DescribeCacheEngineVersions"),
    ("elasticache", "DescribeReservedCacheNodesOfferings"),
    ("elasticache", "DescribeServiceUpdates"),
    ("redshift", "DescribeReservedNodeOfferings"),
    ("redshift", "DescribeOrderableClusterOptions"),
    ("redshift", "DescribeClusterVersions"),
    ("dms", "DescribeOrderableReplicationInstances"),
    ("dms", "DescribeEndpointTypes"),
    ("dms", "DescribeEngineVersions"),
    ("sagemaker", "ListModelPackages"),
    ("sagemaker", "ListHubs"),
    ("sagemaker", "ListImages"),
    ("sagemaker", "ListPipelineExecutionSteps"),
    ("ssm", "DescribeAvailablePatches"),
    ("ssm", "GetInventorySchema"),
    ("ssm", "DescribePatchBaselines"),
    ("cloudformation", "ListTypes"),
    ("cloudformation", "ListImports"),
    ("servicecatalog", "SearchProductsAsAdmin"),
    ("glue", "GetClassifiers"),
    ("iot", "ListOutgoingCertificates"),
    ("ec2", "DescribeLaunchTemplateVersions"),  # needs versions per template
    ("kinesis", "ListShards"),  # per stream; ListStreams gives names only
    ("kinesis", "ListTagsForStream"),
    ("dms", "ListTagsForResource"),  # per resource ARN
    ("cloudtrail", "LookupEvents"),  # aws_cloudtrail_events is written by hand (incremental)
}

# Fixed input: only the account's own images and snapshots, only customer-managed policies.
PARAMS: dict[tuple[str, str], dict[str, object]] = {
    ("ec2", "DescribeSnapshots"): {"OwnerIds": ["self"]},
    ("ec2", "DescribeImagesOwned"): {"Owners": ["self"]},
    ("iam", "ListPolicies"): {"Scope": "Local"},
    ("cloudtrail", "DescribeTrails"): {"includeShadowTrails": False},
    # required page sizes
    ("cognito-idp", "ListUserPools"): {"MaxResults": 60},
    ("cognito-identity", "ListIdentityPools"): {"MaxResults": 60},
}

# Paginators with several result keys: the one that holds the table's resources.
RESULT_KEYS: dict[tuple[str, str], str] = {
    ("cloudwatch", "DescribeAlarms"): "MetricAlarms",
}

# Operations added under another name: (service, alias) -> the botocore operation.
ALIASES: dict[tuple[str, str], str] = {
    ("ec2", "DescribeImagesOwned"): "DescribeImages",
}
TABLE_NAMES[("ec2", "DescribeImagesOwned")] = "aws_ec2_images"

# Result items that hold the resources in a nested list.
UNNEST: dict[tuple[str, str], str] = {
    ("ec2", "DescribeInstances"): "Instances",
}

# ARNs CloudQuery builds where the API returns none: a format over the resource's members.
_EC2 = "arn:aws:ec2:{region}:{account_id}:"
ARN_FORMATS: dict[str, str] = {
    "aws_ec2_instances": _EC2 + "instance/{InstanceId}",
    "aws_ec2_vpcs": _EC2 + "vpc/{VpcId}",
    "aws_ec2_security_groups": _EC2 + "security-group/{GroupId}",
    "aws_ec2_route_tables": _EC2 + "route-table/{RouteTableId}",
    "aws_ec2_network_acls": _EC2 + "network-acl/{NetworkAclId}",
    "aws_ec2_internet_gateways": _EC2 + "internet-gateway/{InternetGatewayId}",
    "aws_ec2_nat_gateways": _EC2 + "natgateway/{NatGatewayId}",
    "aws_ec2_ebs_volumes": _EC2 + "volume/{VolumeId}",
    "aws_ec2_ebs_snapshots": "arn:aws:ec2:{region}::snapshot/{SnapshotId}",
    "aws_ec2_images": "arn:aws:ec2:{region}::image/{ImageId}",
    "aws_ec2_key_pairs": _EC2 + "key-pair/{KeyName}",
    "aws_ec2_eips": _EC2 + "elastic-ip/{AllocationId}",
    "aws_ec2_dhcp_options": _EC2 + "dhcp-options/{DhcpOptionsId}",
    "aws_ec2_network_interfaces": _EC2 + "network-interface/{NetworkInterfaceId}",
    "aws_ec2_vpc_endpoints": _EC2 + "vpc-endpoint/{VpcEndpointId}",
    "aws_ec2_vpc_peering_connections": _EC2 + "vpc-peering-connection/{VpcPeeringConnectionId}",
    "aws_ec2_customer_gateways": _EC2 + "customer-gateway/{CustomerGatewayId}",
    "aws_ec2_vpn_gateways": _EC2 + "vpn-gateway/{VpnGatewayId}",
    "aws_ec2_vpn_connections": _EC2 + "vpn-connection/{VpnConnectionId}",
    "aws_ec2_egress_only_internet_gateways": (
        _EC2 + "egress-only-internet-gateway/{EgressOnlyInternetGatewayId}"
    ),
    "aws_ec2_flow_logs": _EC2 + "vpc-flow-log/{FlowLogId}",
    "aws_ec2_hosts": _EC2 + "dedicated-host/{HostId}",
    "aws_ec2_launch_templates": _EC2 + "launch-template/{LaunchTemplateId}",
    "aws_ec2_reserved_instances": _EC2 + "reserved-instances/{ReservedInstancesId}",
    "aws_ec2_spot_instance_requests": _EC2 + "spot-instances-request/{SpotInstanceRequestId}",
    "aws_s3_buckets": "arn:aws:s3:::{Name}",
}

# Optional input that makes a child table: without it the call lists only the caller's own.
CHILD_INPUT: dict[tuple[str, str], list[str]] = {
    ("iam", "ListAccessKeys"): ["UserName"],
    ("iam", "ListSigningCertificates"): ["UserName"],
    ("iam", "ListSSHPublicKeys"): ["UserName"],
    ("iam", "ListMFADevices"): ["UserName"],
    ("iam", "ListServiceSpecificCredentials"): ["UserName"],
    # optional in the model, but the API refuses a call without them
    ("cloudformation", "DescribeStackResources"): ["StackName"],
    ("logs", "DescribeLogStreams"): ["logGroupName"],
    ("efs", "DescribeMountTargets"): ["FileSystemId"],
    ("elb", "DescribeLoadBalancerPolicies"): ["LoadBalancerName"],
    ("elbv2", "DescribeListeners"): ["LoadBalancerArn"],
    ("elbv2", "DescribeRules"): ["ListenerArn"],
    ("stepfunctions", "ListExecutions"): ["stateMachineArn"],
}
TABLE_NAMES[("iam", "ListMFADevices")] = "aws_iam_user_mfa_devices"

# Services whose operations with required input are not child tables (S3's need each
# bucket's own region and list objects, not resources).
NO_CHILDREN: set[str] = {"s3", "ec2"}
