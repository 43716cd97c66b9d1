//! The `deskprune` binary: everything happens in [`deskprune::run`].

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(deskprune::run())
}
