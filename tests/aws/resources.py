"""One or more resources in each of many services, created in moto through boto3, and the
row each must give: ``(table, column, value)``."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import boto3

Expect = tuple[str, str, str]
REGION = "us-east-1"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
TEMPLATE = json.dumps(
    {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-q"}}}}
)


def c(service: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, region_name=REGION)


def _code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def create_all() -> list[Expect]:
    """Create the resources; return the rows the sync must give."""
    out: list[Expect] = []
    for make in MAKERS:
        out.extend(make())
    return out


def ec2() -> list[Expect]:
    e = c("ec2")
    vpc = e.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = e.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    sg = e.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    e.create_key_pair(KeyName="deploy")
    return [
        ("aws_ec2_vpcs", "vpc_id", vpc),
        ("aws_ec2_subnets", "subnet_id", subnet),
        ("aws_ec2_security_groups", "group_id", sg),
        ("aws_ec2_key_pairs", "key_name", "deploy"),
    ]


def iam() -> list[Expect]:
    i = c("iam")
    i.create_user(UserName="ada")
    key = i.create_access_key(UserName="ada")["AccessKey"]["AccessKeyId"]
    i.create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)
    i.create_group(GroupName="admins")
    return [
        ("aws_iam_users", "user_name", "ada"),
        ("aws_iam_user_access_keys", "access_key_id", key),
        ("aws_iam_roles", "role_name", "fn-role"),
        ("aws_iam_groups", "group_name", "admins"),
    ]


def compute() -> list[Expect]:
    role = c("iam").get_role(RoleName="fn-role")["Role"]["Arn"]
    c("lambda").create_function(
        FunctionName="hello",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _code()},
    )
    c("stepfunctions").create_state_machine(
        name="flow", definition='{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}',
        roleArn=role,
    )  # fmt: skip
    c("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t2.medium", RoleArn=role
    )
    return [
        ("aws_lambda_functions", "function_name", "hello"),
        ("aws_lambda_function_versions", "version", "$LATEST"),
        ("aws_stepfunctions_state_machines", "name", "flow"),
        ("aws_sagemaker_notebook_instances", "notebook_instance_name", "nb"),
    ]


def storage() -> list[Expect]:
    c("s3").create_bucket(Bucket="syncline-data")
    c("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    fs = c("efs").create_file_system(CreationToken="fs1")["FileSystemId"]
    c("ecr").create_repository(repositoryName="app")
    c("backup").create_backup_vault(BackupVaultName="vault")
    c("glue").create_database(DatabaseInput={"Name": "lake"})
    c("athena").create_data_catalog(Name="cat", Type="GLUE", Parameters={"catalog-id": "1"})
    return [
        ("aws_s3_buckets", "name", "syncline-data"),
        ("aws_dynamodb_tables", "table_name", "orders"),
        ("aws_efs_filesystems", "file_system_id", fs),
        ("aws_ecr_repositories", "repository_name", "app"),
        ("aws_backup_vaults", "backup_vault_name", "vault"),
        ("aws_glue_databases", "name", "lake"),
        ("aws_athena_data_catalogs", "catalog_name", "cat"),
    ]


def observability() -> list[Expect]:
    c("cloudtrail").create_trail(Name="main", S3BucketName="syncline-data")
    c("logs").create_log_group(logGroupName="/app/web")
    c("cloudwatch").put_metric_alarm(
        AlarmName="cpu", MetricName="CPU", Namespace="AWS/EC2", Statistic="Average",
        Period=60, EvaluationPeriods=1, Threshold=90.0, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    return [
        ("aws_cloudtrail_trails", "name", "main"),
        ("aws_cloudwatchlogs_log_groups", "log_group_name", "/app/web"),
        ("aws_cloudwatch_alarms", "alarm_name", "cpu"),
    ]


def messaging() -> list[Expect]:
    topic = c("sns").create_topic(Name="alerts")["TopicArn"]
    c("secretsmanager").create_secret(Name="db-pass", SecretString="s3cret")
    c("ssm").create_document(
        Name="app-setup", DocumentType="Command",
        Content=json.dumps({"schemaVersion": "2.2", "description": "d", "mainSteps": [
            {"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["true"]}}
        ]}),
    )  # fmt: skip
    key = c("kms").create_key(Description="data")["KeyMetadata"]["KeyId"]
    c("scheduler").create_schedule_group(Name="nightly")
    c("mq").create_broker(
        BrokerName="mq1", DeploymentMode="SINGLE_INSTANCE", EngineType="ACTIVEMQ",
        EngineVersion="5.17.6", HostInstanceType="mq.t3.micro", PubliclyAccessible=False,
        Users=[{"Username": "admin", "Password": "password12345"}], AutoMinorVersionUpgrade=True,
    )  # fmt: skip
    return [
        ("aws_sns_topics", "topic_arn", topic),
        ("aws_secretsmanager_secrets", "name", "db-pass"),
        ("aws_ssm_documents", "name", "app-setup"),
        ("aws_kms_keys", "key_id", key),
        ("aws_scheduler_schedule_groups", "name", "nightly"),
        ("aws_mq_brokers", "broker_name", "mq1"),
    ]


def networking() -> list[Expect]:
    vpc = c("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.42.0.0/16"]}])
    vpc_id = vpc["Vpcs"][0]["VpcId"]
    c("elbv2").create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc_id)
    c("elb").create_load_balancer(
        LoadBalancerName="classic",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        AvailabilityZones=["us-east-1a"],
    )
    zone = c("route53").create_hosted_zone(Name="example.com", CallerReference="z1")
    c("apigateway").create_rest_api(name="rest")
    c("apigatewayv2").create_api(Name="http", ProtocolType="HTTP")
    c("servicediscovery").create_http_namespace(Name="svc")
    c("networkmanager").create_global_network(Description="core")
    return [
        ("aws_elbv2_target_groups", "target_group_name", "tg"),
        ("aws_elbv1_load_balancers", "load_balancer_name", "classic"),
        ("aws_route53_hosted_zones", "id", zone["HostedZone"]["Id"]),
        ("aws_apigateway_rest_apis", "name", "rest"),
        ("aws_apigatewayv2_apis", "name", "http"),
        ("aws_servicediscovery_namespaces", "name", "svc"),
        ("aws_networkmanager_global_networks", "description", "core"),
    ]


def platform() -> list[Expect]:
    c("cognito-idp").create_user_pool(PoolName="users")
    c("autoscaling").create_launch_configuration(
        LaunchConfigurationName="lc", ImageId="ami-12c6146b", InstanceType="t3.micro"
    )
    c("rds").create_db_parameter_group(
        DBParameterGroupName="pg16", DBParameterGroupFamily="postgres16", Description="pg"
    )
    c("cloudformation").create_stack(StackName="stack1", TemplateBody=TEMPLATE)
    c("appsync").create_graphql_api(name="gql", authenticationType="API_KEY")
    c("iot").create_thing(thingName="sensor")
    c("elasticbeanstalk").create_application(ApplicationName="eb-app")
    c("appmesh").create_mesh(meshName="mesh")
    c("amp").create_workspace(alias="prom")
    c("opensearch").create_domain(DomainName="search")
    c("acm").request_certificate(DomainName="example.com")
    c("organizations").create_organization(FeatureSet="ALL")
    c("emr").run_job_flow(
        Name="etl", ReleaseLabel="emr-6.10.0",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
    )  # fmt: skip
    c("transfer").create_server()
    return [
        ("aws_cognito_user_pools", "name", "users"),
        ("aws_autoscaling_launch_configurations", "launch_configuration_name", "lc"),
        ("aws_rds_db_parameter_groups", "db_parameter_group_name", "pg16"),
        ("aws_cloudformation_stacks", "stack_name", "stack1"),
        ("aws_appsync_graphql_apis", "name", "gql"),
        ("aws_iot_things", "thing_name", "sensor"),
        ("aws_elasticbeanstalk_applications", "application_name", "eb-app"),
        ("aws_appmesh_meshes", "mesh_name", "mesh"),
        ("aws_amp_workspaces", "alias", "prom"),
        ("aws_opensearch_domain_names", "domain_name", "search"),
        ("aws_acm_certificates", "domain_name", "example.com"),
        ("aws_organizations_accounts", "id", "123456789012"),
        ("aws_emr_clusters", "name", "etl"),
        ("aws_transfer_servers", "state", "ONLINE"),
    ]


MAKERS: list[Callable[[], list[Expect]]] = [
    ec2,
    iam,
    compute,
    storage,
    observability,
    messaging,
    networking,
    platform,
]
