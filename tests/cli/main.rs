//! The integration tests: the real `deskprune` binary against the real simulator on
//! `127.0.0.1:0`, in a temporary folder with real files and locks.

mod support;

mod api;
mod apply;
mod bad_answers;
mod calls;
mod contract;
mod crash;
mod escaping;
mod examples;
mod faults;
mod hostile;
mod inputs;
mod intents;
mod interrupt;
mod lock;
mod mistakes;
mod odd_desktops;
mod plan;
mod process;
mod rails;
mod rate;
mod saved;
mod secrets;
mod state_file;
mod terminal;
mod unwritable;
