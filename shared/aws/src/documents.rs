//! [`Documents`]: the S3 bucket that holds what is too large or too immutable for DynamoDB
//! items: signed credentials (`credentials/<workspace>/<id>.json`) and signed status lists
//! (`status-lists/<workspace>/<purpose>/<page>/<version>.json`). The table holds the
//! records that point at them.

use anyhow::{Context as _, anyhow};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

/// Objects in one bucket, by key.
#[derive(Clone, Debug)]
pub struct Documents {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl Documents {
    /// The objects of `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { client, bucket }
    }

    /// Writes (or replaces) the object `key`.
    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| s3_error("PutObject", key, &e))?;
        Ok(())
    }

    /// The object `key`; `None` if there is none.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(error) => {
                return Err(s3_error("GetObject", key, &error));
            }
        };
        let body = output
            .body
            .collect()
            .await
            .with_context(|| format!("S3 GetObject {key}: reading the body"))?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    /// Deletes the object `key` (deleting a missing object is not an error).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("DeleteObject", key, &e))?;
        Ok(())
    }
}

/// Creates the bucket `name` in the client's region (a bucket we already own is fine).
pub(crate) async fn create_bucket(client: &aws_sdk_s3::Client, name: &str) -> anyhow::Result<()> {
    let mut request = client.create_bucket().bucket(name);
    // us-east-1 is the one region that refuses an explicit location constraint.
    if let Some(region) = client.config().region().map(|r| r.as_ref().to_owned())
        && region != "us-east-1"
    {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(error) => Err(s3_error("CreateBucket", name, &error)),
    }
}

/// An SDK error as an adapter error naming the operation and the object: the service's code
/// and message when S3 answered, the whole error chain otherwise.
fn s3_error<E>(operation: &str, target: &str, error: &E) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match error.code() {
        Some(code) => {
            anyhow!("S3 {operation} {target}: {code}: {}", error.message().unwrap_or_default())
        }
        None => anyhow!("S3 {operation} {target}: {}", DisplayErrorContext(error)),
    }
}
