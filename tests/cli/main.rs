//! The integration tests: the real `deskprune` binary against the real simulator on
//! `127.0.0.1:0`, in a temporary folder with real files and locks.

mod support;

mod api;
mod apply;
mod apply_json;
mod bad_answers;
mod calls;
mod contract;
mod crash;
mod escaping;
mod examples;
mod faults;
mod friction;
mod history;
mod hostile;
mod import;
mod inputs;
mod intents;
mod interrupt;
mod lock;
mod man;
mod mistakes;
mod names_file;
mod odd_desktops;
mod plan;
mod process;
mod progress;
mod rails;
mod rate;
mod review;
mod saved;
mod secrets;
mod state_file;
mod team_state;
mod terminal;
mod unwritable;
