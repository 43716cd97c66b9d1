//! The `deskprune` binary: everything happens in [`deskprune::run`].

fn main() -> std::process::ExitCode {
    give_large_blocks_back();
    std::process::ExitCode::from(deskprune::run())
}

/// glibc's malloc raises its mmap threshold to the largest block freed so far (up to 32 MiB),
/// and from then on serves blocks that large from its heaps, which rarely give memory back. A
/// plan frees large blocks all along (1 MB answers, a config's parse), which kept the process
/// 15-25 MiB above what it used. A fixed threshold keeps each block of 256 KiB or more in a
/// mapping of its own, given back as soon as it is freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_large_blocks_back() {
    // SAFETY: mallopt only sets a parameter of the allocator, and no other thread runs yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_large_blocks_back() {}
