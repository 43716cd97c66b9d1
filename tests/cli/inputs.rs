//! Input files deskprune was pointed at that try to fool it: a config that names another
//! endpoint where only a line-by-line reader would see one, files that never end or are not
//! files at all, and values that would panic a conversion.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A loopback listener that only counts: whatever connects to it is taken as a call.
struct Recorder {
    listener: TcpListener,
}

impl Recorder {
    fn new() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Recorder { listener }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.listener.local_addr().unwrap())
    }

    /// Connections made so far: the kernel completes them into the backlog whether or not
    /// anyone accepts, so after the run every attempt is counted.
    fn calls(&self) -> usize {
        let mut calls = 0;
        loop {
            match self.listener.accept() {
                Ok(_) => calls += 1,
                Err(err) if err.kind() == ErrorKind::WouldBlock => return calls,
                Err(err) => panic!("accept failed: {err}"),
            }
        }
    }
}

/// A large config whose only `[cloud]` table is written inside a multi-line string, with an
/// error further down: the file is refused, and no call goes anywhere, least of all to the
/// endpoint that only a line-by-line reading of the file would see.
#[test]
fn a_config_error_sends_nothing_even_to_an_endpoint_inside_a_string() {
    let world = World::new(team(3));
    let recorder = Recorder::new();
    let mut text = String::from("[scope]\ntags = { team = \"eng\" }\n\n");
    text.push_str(&"# padding, to make the file larger than 64 KiB\n".repeat(1500));
    text.push_str(&format!(
        "[[desktop]]\nname = \"\"\"eng-0000\n[cloud]\nregion = \"cn-north-4\"\n\
         project_id = \"{PROJECT}\"\nendpoint = \"{}\"\n#\"\"\"\n",
        recorder.endpoint()
    ));
    // Declarations enough that the whole file takes a while to parse.
    for index in 0..20_000 {
        text.push_str(&format!("[[desktop]]\nname = \"keep-{index}\"\n"));
    }
    text.push_str("[[desktop]]\nname = \" eng-0001\"\n");
    assert!(text.len() > 64 * 1024);
    std::fs::write(world.path("deskprune.toml"), &text).unwrap();

    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = world.run(args);
        assert_eq!(run.code(), 1, "{args:?}: {}", run.stderr());
        let stderr = run.stderr();
        assert!(stderr.contains("missing `[cloud]` table"), "{stderr}");
        assert!(
            stderr.contains("has whitespace at its start or end"),
            "{stderr}"
        );
        assert_eq!(
            recorder.calls(),
            0,
            "{args:?} called the endpoint in a string"
        );
    }
    assert_eq!(world.stats().list_desktops, 0);
}

/// Runs the binary in `world` with `args`, killed (and the test failed) if it takes longer than
/// `limit`: a FIFO or an endless file must not hang the test, only fail it.
fn run_within(world: &World, args: &[&str], limit: Duration) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskprune"))
        .args(args)
        .current_dir(world.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", SK)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{args:?} still ran after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run {
        output: child.wait_with_output().unwrap(),
    }
}

/// A FIFO named `name` in the world's folder.
fn fifo(world: &World, name: &str) -> String {
    let status = Command::new("mkfifo")
        .arg(world.path(name))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    name.to_string()
}

/// A sparse regular file of `size` bytes (zeros), cheap to make at any size.
fn large_file(world: &World, name: &str, size: u64) -> String {
    std::fs::File::create(world.path(name))
        .unwrap()
        .set_len(size)
        .unwrap();
    name.to_string()
}

#[test]
fn a_config_that_is_no_regular_file_or_too_large_is_refused_at_once() {
    let world = World::new(team(1));
    let fifo = fifo(&world, "fifo.toml");
    let large = large_file(&world, "large.toml", 40 << 20);
    let cases = [
        ("/dev/zero", "config file `/dev/zero` is not a regular file"),
        (&fifo, "config file `fifo.toml` is not a regular file"),
        (&large, "config file `large.toml` is larger than 32 MiB"),
    ];
    for (config, expected) in cases {
        for command in ["validate", "plan"] {
            let run = run_within(&world, &["-c", config, command], Duration::from_secs(10));
            assert_eq!(run.code(), 1, "{config} {command}: {}", run.stderr());
            let stderr = run.stderr();
            assert!(stderr.contains(expected), "{config}: {stderr}");
            assert!(stderr.contains("help: "), "{config}: {stderr}");
        }
    }
    assert_eq!(world.stats().list_desktops, 0);
}

#[test]
fn a_saved_plan_that_is_no_regular_file_or_too_large_is_refused_at_once() {
    let world = World::new(team(1));
    world.config("[scope]\nall = true\n");
    let fifo = fifo(&world, "plan.json");
    let large = large_file(&world, "large.json", 200 << 20);
    let cases = [
        ("/dev/zero", "saved plan `/dev/zero` is not a regular file"),
        (&fifo, "saved plan `plan.json` is not a regular file"),
        (&large, "saved plan `large.json` is larger than 128 MiB"),
    ];
    for (plan, expected) in cases {
        for args in [&["show", plan][..], &["apply", "--auto-approve", plan]] {
            let run = run_within(&world, args, Duration::from_secs(10));
            assert_eq!(run.code(), 1, "{args:?}: {}", run.stderr());
            let stderr = run.stderr();
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
            assert!(
                stderr.contains("deskprune plan --out FILE"),
                "{args:?}: {stderr}"
            );
        }
    }
    assert_eq!(world.stats().list_desktops, 0);
    assert_eq!(world.stats().batch_delete, 0);
}

/// Values a conversion cannot hold are refused where they enter, never a panic (exit 101).
/// A `names_file` that would hang the read (a FIFO, behind a link), never end, be too large,
/// or not be UTF-8 (a name read lossily would match nothing, and its desktop be deleted) is
/// refused where the config names it, before anything is listed.
#[test]
fn a_list_file_that_is_no_regular_utf8_file_or_too_large_is_refused_at_once() {
    let world = World::new(team(3));
    fifo(&world, "fifo.txt");
    std::os::unix::fs::symlink("fifo.txt", world.path("linked.txt")).unwrap();
    let large = large_file(&world, "large.txt", 40 << 20);
    // `dév-0001` saved as Latin-1: not UTF-8 at byte 10.
    std::fs::write(world.path("latin1.txt"), b"eng-0000\nd\xe9v-0001\n").unwrap();
    let cases = [
        ("/dev/zero", "list file `/dev/zero` is not a regular file"),
        ("linked.txt", "list file `linked.txt` is not a regular file"),
        (&large, "list file `large.txt` is larger than 32 MiB"),
        (
            "latin1.txt",
            "list file `latin1.txt` is not UTF-8 text (at byte 10)",
        ),
    ];
    for (file, expected) in cases {
        world.config(&format!(
            "[scope]\nall = true\n\n[desktops]\nnames_file = \"{file}\"\n"
        ));
        for command in ["validate", "plan", "apply"] {
            let args = ["--auto-approve"];
            let args = if command == "apply" { &args[..] } else { &[] };
            let run = run_within(
                &world,
                &[&[command], args].concat(),
                Duration::from_secs(10),
            );
            assert_eq!(run.code(), 1, "{file} {command}: {}", run.stderr());
            let stderr = run.stderr();
            assert!(stderr.contains(expected), "{file} {command}: {stderr}");
            assert!(
                stderr.contains("`names_file` names it here"),
                "{file}: {stderr}"
            );
        }
    }
    assert_eq!(world.stats().list_desktops, 0);
    assert_eq!(world.stats().batch_delete, 0);
}

#[test]
fn values_too_large_for_a_clock_are_refused_not_a_panic() {
    let world = World::new(team(1));
    world.config("[scope]\nall = true\n");
    for args in [
        &[
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "18446744073709551615",
        ][..],
        &[
            "apply",
            "--auto-approve",
            "--timeout",
            "18446744073709551615",
        ],
        &[
            "simulator",
            "--inventory",
            "i.json",
            "--token",
            "t",
            "--job-seconds",
            "1e20",
        ],
        &[
            "simulator",
            "--inventory",
            "i.json",
            "--token",
            "t",
            "--latency-ms",
            "18446744073709551615",
        ],
        &[
            "simulator",
            "--inventory",
            "i.json",
            "--token",
            "t",
            "--fault",
            "any:nth=1:refuse=18446744073709551615",
        ],
    ] {
        let run = run_within(&world, args, Duration::from_secs(10));
        assert_eq!(run.code(), 1, "{args:?}: {}", run.stderr());
        assert!(
            !run.stderr().contains("panicked"),
            "{args:?}: {}",
            run.stderr()
        );
    }
    world.config("[scope]\nall = true\n[client]\nrequests_per_second = 1e-20\n");
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("`requests_per_second` must be between 0.01 and 1000, found `1e-20`"),
        "{}",
        run.stderr()
    );
    assert_eq!(world.stats().list_desktops, 0);
}
