//! Integration tests of `tollgate-cluster`: the real kube `Client`, watcher and reflector against
//! a fake API server on loopback (the only stand-in; see `fake.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake;
mod watches;
