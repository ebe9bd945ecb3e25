//! Open Badges 3.0 credentials, with nothing but computation.
//!
//! This crate is the credential-trust layer of the platform: the OB 3.0 data model and its
//! builders ([`model`]), JSON-LD to RDF with bundled, hash-pinned contexts and RDFC-1.0
//! canonicalization ([`canon`], [`contexts`]; the contexts are compiled once, and a general
//! `oxjsonld` path takes anything else), `eddsa-rdfc-2022` Data Integrity proofs ([`di`], also
//! in batches over the cores) and VC-JWT ([`jwt`]), Ed25519 keys as Multikey and JWK with
//! `did:web` documents ([`keys`], [`did`]), Bitstring Status Lists ([`status`]), one
//! verification function that returns a report of named checks and a verdict ([`verify`]),
//! PNG/SVG baking ([`bake`]) and QR codes ([`qr`]).
//!
//! It must stay pure: no file or network I/O, no async runtime (batches use rayon's thread
//! pool, nothing more), no clock (the caller passes "now"), and no dependency on `aws-*`,
//! `axum`, `rusqlite`, `lambda_*` or `tokio`. Whatever needs the outside world (a DID
//! document, a status list) comes in through the [`verify::Resolver`] trait that the caller
//! implements.

pub mod bake;
pub mod canon;
pub mod contexts;
pub mod di;
pub mod did;
mod error;
pub mod jwt;
pub mod keys;
pub mod model;
pub mod qr;
pub mod status;
pub mod verify;

pub use error::{Error, Result};
