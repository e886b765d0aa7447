"""The AWS source against a real moto_server process (CloudTrail LookupEvents added by a
test-only extension, tests/aws/moto_cloudtrail.py): the tables that matter most, in detail.
Every table is synced in tests/test_aws_all_tables.py."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from conftest import config, query, scalar, sqlite_doc

REGIONS = ["us-east-1", "us-west-2"]
ALL_TABLES = [
    "aws_s3_buckets",
    "aws_ec2_instances",
    "aws_ec2_vpcs",
    "aws_ec2_subnets",
    "aws_ec2_security_groups",
    "aws_iam_users",
    "aws_iam_roles",
    "aws_iam_policies",
    "aws_lambda_functions",
    "aws_dynamodb_tables",
    "aws_cloudtrail_trails",
    "aws_cloudwatchlogs_log_groups",
    "aws_cloudtrail_events",
]


def aws_doc(
    destination: str = "sqlite", tables: str = json.dumps(ALL_TABLES), backend: str = "sqlite"
) -> str:
    return f"""\
kind: source
spec:
  name: aws
  path: cloudquery/aws
  version: "v1.0.0"
  tables: {tables}
  destinations: [{destination}]
  backend_options:
    table_name: cq_state_aws
    connection: "@@plugins.{backend}.connection"
  spec:
    regions: {json.dumps(REGIONS)}
    concurrency: 4
"""


@pytest.fixture
def resources(aws_env):
    """Create one or more of everything the source reads; return what a test checks."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="syncline-data")
    s3.put_bucket_versioning(Bucket="syncline-data", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(
        Bucket="syncline-data", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]}
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteBucket",
                "Resource": "arn:aws:s3:::syncline-data",
            }
        ],
    }
    s3.put_bucket_policy(Bucket="syncline-data", Policy=json.dumps(policy))
    s3.put_public_access_block(
        Bucket="syncline-data",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.create_bucket(
        Bucket="syncline-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.create_bucket(Bucket="syncline-trail")

    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="web", Description="web tier", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet
    )["Instances"][0]["InstanceId"]
    west_vpc = boto3.client("ec2", region_name="us-west-2").create_vpc(CidrBlock="10.99.0.0/16")[
        "Vpc"
    ]["VpcId"]

    iam = boto3.client("iam")
    iam.create_user(UserName="ada", Tags=[{"Key": "role", "Value": "engineer"}])
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    policy_arn = iam.create_policy(PolicyName="read-objects", PolicyDocument=json.dumps(doc))[
        "Policy"
    ]["Arn"]

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    fn_arn = boto3.client("lambda").create_function(
        FunctionName="hello",
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    boto3.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("cloudtrail").create_trail(Name="main", S3BucketName="syncline-trail")
    boto3.client("logs").create_log_group(logGroupName="/app/web")
    boto3.client("logs").put_retention_policy(logGroupName="/app/web", retentionInDays=14)
    return {
        "vpc": vpc,
        "west_vpc": west_vpc,
        "subnet": subnet,
        "sg": sg,
        "instance": instance,
        "role_arn": role_arn,
        "policy_arn": policy_arn,
        "fn_arn": fn_arn,
    }


def check_rows(q, ids):
    """Rows of every table against what the test created. ``q(sql)`` returns rows."""
    buckets = {
        r[0]: r[1:]
        for r in q(
            "select name, region, versioning_status, tags, policy, public_access_block_configuration, arn from aws_s3_buckets"
        )
    }
    assert set(buckets) == {"syncline-data", "syncline-eu", "syncline-trail"}
    region, versioning, tags, policy, block, arn = buckets["syncline-data"]
    assert (region, versioning, arn) == ("us-east-1", "Enabled", "arn:aws:s3:::syncline-data")
    assert json.loads(tags) == {"team": "data"}
    assert json.loads(policy)["Statement"][0]["Effect"] == "Deny"
    assert json.loads(block)["BlockPublicAcls"] is True
    assert buckets["syncline-eu"][0] == "eu-west-1"

    assert q(
        "select instance_id, instance_type, subnet_id, region, account_id from aws_ec2_instances"
    ) == [(ids["instance"], "t3.micro", ids["subnet"], "us-east-1", "123456789012")]
    vpcs = {(r[0], r[1]) for r in q("select vpc_id, region from aws_ec2_vpcs")}
    assert {(ids["vpc"], "us-east-1"), (ids["west_vpc"], "us-west-2")} <= vpcs
    assert (ids["subnet"],) in q("select subnet_id from aws_ec2_subnets where region = 'us-east-1'")
    perms = q(f"select ip_permissions from aws_ec2_security_groups where group_id = '{ids['sg']}'")
    assert json.loads(perms[0][0])[0]["FromPort"] == 443
    users = [
        (u, r, json.loads(t)) for u, r, t in q("select user_name, region, tags from aws_iam_users")
    ]
    assert users == [("ada", "aws-global", {"role": "engineer"})]  # global: once, not per region
    assert (ids["role_arn"],) in q("select arn from aws_iam_roles")
    ((arn, name, document),) = q(
        "select arn, policy_name, default_version_document from aws_iam_policies"
    )
    assert (arn, name) == (ids["policy_arn"], "read-objects")
    assert json.loads(document)["Statement"][0]["Action"] == "s3:GetObject"
    assert q("select arn, runtime, handler from aws_lambda_functions") == [
        (ids["fn_arn"], "python3.12", "app.handler")
    ]
    (key_schema,) = q("select key_schema from aws_dynamodb_tables where table_name = 'orders'")[0]
    assert json.loads(key_schema) == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert q("select name, s3_bucket_name from aws_cloudtrail_trails") == [
        ("main", "syncline-trail")
    ]
    assert q(
        "select log_group_name, retention_in_days, region from aws_cloudwatchlogs_log_groups"
    ) == [("/app/web", 14, "us-east-1")]


def test_every_table_from_moto_into_sqlite(write, run_cli, workdir, resources):
    write("a.yml", config(aws_doc(), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Errors: 0" in r.out
    db = workdir / "db.sqlite"
    check_rows(lambda sql: query(db, sql), resources)
    names = {n for (n,) in query(db, "select name from sqlite_master where type = 'table'")}
    assert set(ALL_TABLES) <= names


def test_policy_version_documents_are_json(write, run_cli, workdir, resources):
    """botocore hands IAM's policy documents over decoded, as objects: they are JSON columns."""
    tables = '["aws_iam_policies", "aws_iam_policy_versions"]'
    write("a.yml", config(aws_doc(tables=tables), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Errors: 0" in r.out
    ((arn, version, document),) = query(
        workdir / "db.sqlite",
        "select policy_arn, version_id, document from aws_iam_policy_versions",
    )
    assert (arn, version) == (resources["policy_arn"], "v1")
    assert json.loads(document)["Statement"][0]["Action"] == "s3:GetObject"


def test_cloudtrail_events_are_incremental(write, run_cli, workdir, resources):
    write("a.yml", config(aws_doc(tables='["aws_cloudtrail_events"]'), sqlite_doc()))
    assert run_cli("sync", "a.yml").code == 0
    db = workdir / "db.sqlite"
    first = scalar(db, "select count(*) from aws_cloudtrail_events")
    assert first > 10
    names = {n for (n,) in query(db, "select distinct event_name from aws_cloudtrail_events")}
    assert {"CreateVpc", "RunInstances", "CreateUser", "CreateTable", "CreateTrail"} <= names
    assert query(db, "select distinct region from aws_cloudtrail_events order by 1") == [
        ("us-east-1",),
        ("us-west-2",),
    ]
    keys = [k for (k,) in query(db, "select key from cq_state_aws order by key")]
    assert keys == [
        "aws_cloudtrail_events/123456789012/us-east-1",
        "aws_cloudtrail_events/123456789012/us-west-2",
    ]

    # API calls between the syncs become the only new events
    boto3.client("logs").create_log_group(logGroupName="/app/new")
    boto3.client("iam").create_user(UserName="grace")
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 2," in r.out
    latest = query(
        db,
        "select event_name from aws_cloudtrail_events where _cq_sync_time = (select max(_cq_sync_time) from aws_cloudtrail_events) order by 1",
    )
    assert latest == [("CreateLogGroup",), ("CreateUser",)]
    assert scalar(db, "select count(*) - count(distinct event_id) from aws_cloudtrail_events") == 0
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 0," in r.out


@pytest.mark.pg
def test_every_table_from_moto_into_postgresql(write, run_cli, workdir, resources, pg_url):
    import psycopg

    dest = f"""\
kind: destination
spec:
  name: postgresql
  path: cloudquery/postgresql
  spec:
    connection_string: "{pg_url}"
"""
    write("a.yml", config(aws_doc(destination="postgresql", backend="postgresql"), dest))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err

    def q(sql):
        with psycopg.connect(pg_url) as c:
            rows = c.execute(sql).fetchall()
        # jsonb comes back parsed; compare as text like the SQLite test does
        return [
            tuple(
                json.dumps(v, separators=(",", ":")) if isinstance(v, dict | list) else v
                for v in row
            )
            for row in rows
        ]

    check_rows(q, resources)
    assert q("select count(*) from cq_state_aws")[0][0] == 2


def test_an_error_in_one_table_is_counted_not_fatal(
    write, run_cli, workdir, resources, monkeypatch
):
    # Point Lambda at a port where nothing listens: that table fails, the others sync.
    from syncline.testing.postgres import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{free_port()}")
    spec_tables = '["aws_lambda_functions", "aws_ec2_vpcs"]'
    doc = aws_doc(tables=spec_tables).replace(
        "    concurrency: 4\n", "    concurrency: 4\n    max_retries: 0\n"
    )
    write("a.yml", config(doc, sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Sync completed with errors" in r.out and "Errors: 2" in r.out  # one per region
    assert scalar(workdir / "db.sqlite", "select count(*) from aws_ec2_vpcs") >= 2
    assert scalar(workdir / "db.sqlite", "select count(*) from aws_lambda_functions") == 0


def test_a_service_not_offered_in_a_region_is_skipped_there(write, run_cli, workdir, aws_env):
    # botocore's endpoint data has no App Mesh in ap-south-2, nor has moto: a call there would
    # fail (a counted error), so "Errors: 0" shows the region was skipped.
    boto3.client("appmesh").create_mesh(meshName="mesh")
    doc = aws_doc(tables='["aws_appmesh_meshes"]').replace(
        json.dumps(REGIONS), json.dumps(["us-east-1", "ap-south-2"])
    )
    write("a.yml", config(doc, sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Errors: 0" in r.out
    assert query(workdir / "db.sqlite", "select mesh_name, region from aws_appmesh_meshes") == [
        ("mesh", "us-east-1")
    ]


def test_the_aws_source_passes_the_source_suite(resources):
    from syncline.connectors.aws import AwsSource, AwsSpec
    from syncline.plugin.contracts import PluginContext, SyncOptions
    from syncline.testing.source_suite import check_source

    source = AwsSource(AwsSpec(regions=REGIONS, concurrency=4), PluginContext("aws"))
    children = ["aws_iam_user_tags", "aws_lambda_function_versions", "aws_iam_role_tags"]
    first, second = check_source(source, SyncOptions([*ALL_TABLES, *children]))
    assert first.rows["aws_s3_buckets"] == 3 and first.rows["aws_cloudtrail_events"] > 10
    assert first.rows["aws_iam_user_tags"] >= 1  # child rows, checked against their parents
    assert sorted(first.cursors) == [
        "aws_cloudtrail_events/123456789012/us-east-1",
        "aws_cloudtrail_events/123456789012/us-west-2",
    ]
    assert "aws_cloudtrail_events" not in second.rows  # resumed: no event twice
    assert second.rows["aws_s3_buckets"] == 3
