//! Input files deskprune was pointed at that try to fool it: a config that names another
//! endpoint where only a line-by-line reader would see one, files that never end or are not
//! files at all, and values that would panic a conversion.

use std::io::ErrorKind;
use std::net::TcpListener;

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
