//! The Workspace API: wire types (shared with the simulator), request signing, credentials and
//! the client.

mod answer;
mod calls;
pub mod client;
pub mod credentials;
pub mod error;
mod pace;
pub mod sign;
pub mod wire;

pub use calls::ListFilter;
pub use client::{Client, ClientOptions};
pub use credentials::{Auth, Secret};
pub use error::ApiError;
pub use pace::throttled_rate;

#[cfg(test)]
mod proptests;
