"""S3 URIs follow AWS's bucket naming rules; object reads and writes go to the stand-in over HTTP."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_nova.core import AwsCallError, AwsClients, ConfigurationError
from airflow_provider_nova.core.s3 import S3Uri, iter_object_chunks, read_object, validate_s3_uri, write_object


@pytest.fixture
def bucket(aws: AwsClients) -> str:
    name = f"s3-test-{uuid.uuid4().hex[:12]}"
    aws.s3.create_bucket(Bucket=name)
    return name


@pytest.mark.parametrize(
    ("uri", "bucket", "key"),
    [
        ("s3://my-bucket/data/train.jsonl", "my-bucket", "data/train.jsonl"),
        ("s3://my-bucket/prefix/", "my-bucket", "prefix/"),
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://abc/k", "abc", "k"),
        ("s3://my.bucket.name/k", "my.bucket.name", "k"),
        ("s3://" + "a" * 63 + "/k", "a" * 63, "k"),
        ("s3://1bucket-2/k", "1bucket-2", "k"),
        ("s3://my-bucket/ünïcödé key/tab", "my-bucket", "ünïcödé key/tab"),
    ],
)
def test_parse_valid(uri: str, bucket: str, key: str) -> None:
    parsed = S3Uri.parse(uri, "data_s3_path")
    assert (parsed.bucket, parsed.key) == (bucket, key)
    assert validate_s3_uri(uri, "data_s3_path") == uri


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("s3://my-bucket\n/key", "invalid bucket name"),
        ("s3://my-bucket\n", "invalid bucket name"),
        ("s3://ab/key", "3-63"),
        ("s3://" + "a" * 64 + "/key", "3-63"),
        ("s3://My-Bucket/key", "lowercase"),
        ("s3://my_bucket/key", "lowercase"),
        ("s3://-bucket/key", "starting and ending with a letter or digit"),
        ("s3://bucket-/key", "starting and ending with a letter or digit"),
        ("s3://bucket./key", "starting and ending with a letter or digit"),
        ("s3://my..bucket/key", "two adjacent dots"),
        ("s3://192.168.5.4/key", "IP address"),
        ("s3:///key", "invalid bucket name ''"),
        ("s3://my-bucket/key\n", "control characters"),
        ("s3://my-bucket/a\x00b", "control characters"),
        ("s3://my-bucket/a\tb", "control characters"),
        ("s3://my-bucket/" + "k" * 1025, "longer than 1024 bytes"),
        ("https://my-bucket/key", "must be an s3:// URI"),
        ("my-bucket/key", "must be an s3:// URI"),
        (5, "must be an s3:// URI"),
        (None, "must be an s3:// URI"),
    ],
)
def test_parse_invalid_names_the_field(uri: object, problem: str) -> None:
    with pytest.raises(ConfigurationError, match="output_s3_path") as info:
        S3Uri.parse(uri, "output_s3_path")  # type: ignore[arg-type]
    assert problem in str(info.value)


def test_ip_like_names_that_are_not_four_numbers_are_fine() -> None:
    assert S3Uri.parse("s3://192.168.5/k").bucket == "192.168.5"
    assert S3Uri.parse("s3://1.2.3.4.5/k").bucket == "1.2.3.4.5"


def test_require_key() -> None:
    assert S3Uri.parse("s3://my-bucket/k", "recipe_path", require_key=True).key == "k"
    for uri in ("s3://my-bucket", "s3://my-bucket/", "s3://my-bucket/folder/"):
        with pytest.raises(ConfigurationError, match=r"recipe_path must name an object \(s3://bucket/key\)"):
            S3Uri.parse(uri, "recipe_path", require_key=True)


@pytest.mark.parametrize(
    ("base", "parts", "joined"),
    [
        (
            "s3://my-bucket/output/",
            ("job", "output", "output.tar.gz"),
            "s3://my-bucket/output/job/output/output.tar.gz",
        ),
        ("s3://my-bucket/output", ("/job/", "x"), "s3://my-bucket/output/job/x"),
        ("s3://my-bucket", ("job",), "s3://my-bucket/job"),
        ("s3://my-bucket/", ("", "/", "a/b"), "s3://my-bucket/a/b"),
        ("s3://my-bucket/p", (), "s3://my-bucket/p"),
    ],
)
def test_join(base: str, parts: tuple[str, ...], joined: str) -> None:
    assert str(S3Uri.parse(base).join(*parts)) == joined


def test_write_then_read(aws: AwsClients, bucket: str) -> None:
    uri = f"s3://{bucket}/dir/obj.json"
    write_object(aws.s3, uri, b'{"a": 1}', "application/json")
    assert read_object(aws.s3, uri) == b'{"a": 1}'
    assert read_object(aws.s3, S3Uri(bucket, "dir/obj.json")) == b'{"a": 1}'
    assert aws.s3.head_object(Bucket=bucket, Key="dir/obj.json")["ContentType"] == "application/json"
    assert b"".join(iter_object_chunks(aws.s3, uri, chunk_size=3)) == b'{"a": 1}'


def test_read_missing_object_is_an_aws_call_error(aws: AwsClients, bucket: str) -> None:
    with pytest.raises(AwsCallError, match=f"^GetObject failed \\(NoSuchKey\\): s3://{bucket}/absent.yaml: ") as info:
        read_object(aws.s3, f"s3://{bucket}/absent.yaml")
    assert (info.value.operation, info.value.code) == ("GetObject", "NoSuchKey")
    assert type(info.value.__cause__).__name__ == "NoSuchKey"  # the botocore error stays chained


def test_write_to_missing_bucket_is_an_aws_call_error(aws: AwsClients) -> None:
    uri = f"s3://absent-{uuid.uuid4().hex[:12]}/k"
    with pytest.raises(AwsCallError, match=f"^PutObject failed \\(NoSuchBucket\\): {uri}: ") as info:
        write_object(aws.s3, uri, b"x")
    assert info.value.code == "NoSuchBucket"


@pytest.mark.parametrize("uri", ["s3://my-bucket", "s3://my-bucket/", "s3://my-bucket/folder/"])
def test_read_and_write_need_an_object_key(aws: AwsClients, uri: str) -> None:
    with pytest.raises(ConfigurationError, match="recipe_path must name an object"):
        read_object(aws.s3, uri, "recipe_path")
    with pytest.raises(ConfigurationError, match="s3_path must name an object"):
        write_object(aws.s3, uri, b"x", field="s3_path")
    with pytest.raises(ConfigurationError, match="must name an object"):
        read_object(aws.s3, S3Uri("my-bucket", ""))


def test_read_refuses_a_bad_uri_before_calling_s3(aws: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match="recipe_path has an invalid bucket name"):
        read_object(aws.s3, "s3://my-bucket\n/key", "recipe_path")
