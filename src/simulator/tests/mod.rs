//! The simulator driven over real HTTP on `127.0.0.1:0`, the way the SDK drives the cloud.

mod auth;
mod deleting;
mod faults;
mod gateway;
mod harness;
mod jobs;
mod listing;
mod persistence;
