//! The `badges` binary as a library, so that tests can start the real server in-process.
//!
//! - [`cli`]: the command line;
//! - [`serve`]: `badges serve`, the whole platform in one process on the embedded adapters;
//! - [`offline`]: `keygen`, `sign`, `verify`, `bake`, `unbake` on local files.

pub mod cli;
pub mod offline;
pub mod serve;
