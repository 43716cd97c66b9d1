//! The integration tests: the real `deskprune` binary against the real simulator on
//! `127.0.0.1:0`, in a temporary folder with real files and locks.

mod support;

mod apply;
mod contract;
mod plan;
mod saved;
