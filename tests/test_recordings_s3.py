"""The same recordings code against an S3-speaking server (moto's, on loopback), through boto3."""

import boto3
import pytest
from moto.server import ThreadedMotoServer

from app.extensions import db
from app.recordings.jobs import purge_expired_recordings
from app.recordings.storage import S3Storage, get_storage
from app.recordings.tokens import media_url
from tests import speech
from tests.conftest import free_port
from tests.recording_helpers import complete, new_recording, run_jobs, upload, webm_video

BUCKET = "converc-recordings"
CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def app(make_app, s3_endpoint, bucket):
    app = make_app(RECORDINGS_S3_BUCKET=BUCKET, RECORDINGS_S3_ENDPOINT_URL=s3_endpoint,
                   RECORDINGS_S3_REGION="us-east-1",
                   RECORDINGS_S3_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
                   RECORDINGS_S3_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"])
    with app.app_context():
        yield app


def keys(bucket):
    return sorted(item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_recordings_live_in_the_bucket_and_are_served_from_it(app, client, admin, bucket):
    if not speech.have_espeak():
        pytest.skip("espeak-ng is not installed")
    assert isinstance(get_storage(), S3Storage)
    recording = new_recording(admin.organization_id)
    voice = speech.encode_webm(speech.speak("Hello from the bucket."))
    upload(client, recording, "visitor", voice, chunk_size=4096)
    upload(client, recording, "video", webm_video(1.0), content_type="video/webm", chunk_size=1024)
    prefix = f"recordings/{recording.organization_id}/{recording.id}/"
    assert any(k.startswith(prefix + "chunks/visitor/") for k in keys(bucket))

    complete(client, recording)
    run_jobs()
    db.session.refresh(recording)
    assert recording.status == "ready", recording.error
    # the chunks are gone once assembled; the files are there
    assert keys(bucket) == [prefix + "audio.webm", prefix + "video.webm", prefix + "visitor.webm"]

    url = media_url(recording, "audio")
    whole = client.get(url)
    assert whole.status_code == 200 and whole.mimetype == "audio/webm"
    stored = bucket.get_object(Bucket=BUCKET, Key=prefix + "audio.webm")["Body"].read()
    assert whole.data == stored
    part = client.get(url, headers={"Range": "bytes=10-"})
    assert part.status_code == 206 and part.data == stored[10:]
    assert part.headers["Content-Range"] == f"bytes 10-{len(stored) - 1}/{len(stored)}"


def test_retention_deletes_from_the_bucket(app, client, admin, bucket):
    if not speech.have_espeak():
        pytest.skip("espeak-ng is not installed")
    from datetime import UTC, datetime, timedelta

    recording = new_recording(admin.organization_id)
    upload(client, recording, "rep", speech.encode_webm(speech.speak("Bye.")))
    recording.created_at = datetime.now(UTC) - timedelta(days=365)
    db.session.commit()
    assert keys(bucket)
    assert purge_expired_recordings() == 1
    assert keys(bucket) == []
