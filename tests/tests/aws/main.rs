//! The platform's flow on the AWS adapters: DynamoDB, S3, SQS and KMS in a local emulator the
//! test starts itself, the HTTP routers the Lambdas mount, and the queues drained by calling
//! the SQS handlers the way Lambda's event source mapping does (receive a batch, invoke,
//! delete what the handler did not report as failed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flow;
mod stack;
