//! The CI examples keep the state in OBS: each shows the `[state]` table with an OBS endpoint
//! and none still carries the workarounds of a state on one disk (the state file in a cache or
//! a volume, `--state`, `concurrency:`/`resource_group:` groups around apply).

use std::path::Path;

#[test]
fn the_ci_examples_use_the_remote_backend_without_local_state_workarounds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    for name in ["github-actions.yml", "gitlab-ci.yml", "k8s-cronjob.yml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        for needed in [
            "backend = \"s3\"",
            "endpoint = \"https://obs.cn-north-4.myhuaweicloud.com\"",
            "obs:object:PutObject",
        ] {
            assert!(text.contains(needed), "{name} shows `{needed}`");
        }
        // Lines that are not comments.
        let code: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect();
        for workaround in [
            "deskprune.state.json",
            "--state",
            "concurrency:",
            "resource_group:",
            "PersistentVolumeClaim",
        ] {
            assert!(
                !code.iter().any(|line| line.contains(workaround)),
                "{name} still has `{workaround}`"
            );
        }
    }
}
