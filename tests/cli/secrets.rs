//! The secrets canary: with distinctive secret keys and tokens in the environment, every command
//! (debug logging on, successes, refusals and rejected credentials alike) is run, and no secret,
//! nor any 12-character piece of one, may show up on stdout, stderr or in any file deskprune
//! leaves in its folder.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use deskprune::simulator::SimulatorOptions;

use crate::support::*;

const SECURITY_TOKEN: &str = "STq8Zr2Lm5Xv7Kp1Wc9Nb3Jd6Hf0";
const IAM_TOKEN: &str = "MIIt4Gk8Yp2Qs6Vx0Rz3Nw7Lc1Fj5";
const WRONG_SK: &str = "WSk9Tb3Mh7Qd1Xr5Lv8Zc2Pn6Gy4";
const WRONG_TOKEN: &str = "WTo5Kx1Bn8Rj4Wq7Ms2Yv9Hc3Dp6";
/// The canaries are random-looking so that no piece of one is an ordinary word. A piece this
/// long cannot match by chance, and is short enough to catch a truncated secret.
const PIECE: usize = 12;

fn secrets() -> [&'static str; 5] {
    [SK, SECURITY_TOKEN, IAM_TOKEN, WRONG_SK, WRONG_TOKEN]
}

/// Fails if `text` holds any secret or any `PIECE`-character piece of one.
#[track_caller]
fn assert_clean(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for secret in secrets() {
        let chars: Vec<char> = secret.chars().collect();
        for piece in chars.windows(PIECE) {
            let piece: String = piece.iter().collect();
            assert!(
                !text.contains(&piece),
                "{what} shows a piece of a secret ({piece:?}):\n{text}"
            );
        }
    }
}

/// Fails if any file under `dir` holds a secret.
fn assert_folder_clean(dir: &Path) -> usize {
    let files = files_under(dir);
    for path in &files {
        assert_clean(&path.display().to_string(), &std::fs::read(path).unwrap());
    }
    files.len()
}

/// Runs `cmd`, checks its output, and hands the run back for more checks.
#[track_caller]
fn clean(cmd: Cmd, what: &str) -> Run {
    let run = cmd.run();
    assert_clean(&format!("stdout of `{what}`"), &run.output.stdout);
    assert_clean(&format!("stderr of `{what}`"), &run.output.stderr);
    run
}

fn config(world: &World) {
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n",
    );
}

/// Every command, through `with_auth` (which sets the credentials), against `world`, whose
/// inventory is team(6) with three desktops declared.
fn every_command(world: &World, with_auth: &dyn Fn(Cmd) -> Cmd) {
    let run = |args: &[&str]| {
        let mut all = vec!["-vv"];
        all.extend_from_slice(args);
        clean(with_auth(world.command(&all)), &args.join(" "))
    };
    run(&["validate"]).success();
    run(&["plan"]).success();
    run(&["plan", "--json"]).success();
    run(&["plan", "--format", "markdown"]).success();
    run(&["plan", "--out", "plan.json"]).success();
    run(&["show", "plan.json"]).success();
    run(&["show", "plan.json", "--json"]).success();
    // Refused: no terminal, then over the budget (3 of 6 is over 25 %).
    let refused = run(&["apply"]);
    assert_eq!(refused.code(), 1, "{}", refused.transcript(world));
    assert_eq!(run(&["apply", "--auto-approve"]).code(), 1);
    assert_eq!(world.stats().batch_delete, 0);
    run(&[
        "apply",
        "--auto-approve",
        "--allow-deletions",
        "3",
        "--no-wait",
    ])
    .success();
    run(&["jobs"]).success();
    std::thread::sleep(std::time::Duration::from_millis(400));
    run(&["jobs", "--refresh"]).success();
    run(&["apply", "--auto-approve"]).success();
    // The saved plan's desktops are gone now: reported, nothing sent.
    let calls = world.stats().batch_delete;
    run(&["apply", "plan.json", "--auto-approve"]);
    assert_eq!(world.stats().batch_delete, calls);
    run(&["schema", "state"]).success();
    run(&["schema", "config"]).success();
    assert_eq!(world.remaining().len(), 3);
}

#[test]
fn temporary_credentials_never_show() {
    let world = World::with_options(
        team(6),
        SimulatorOptions {
            security_token: Some(SECURITY_TOKEN.into()),
            ..SimulatorOptions::default()
        },
    );
    config(&world);
    every_command(&world, &|cmd| {
        cmd.env("HUAWEICLOUD_SDK_SECURITY_TOKEN", SECURITY_TOKEN)
    });

    // A wrong secret key: the simulator answers 401, on a read and on apply.
    for args in [
        &["-vv", "plan"][..],
        &["-vv", "apply", "--auto-approve"][..],
        &["-vv", "jobs", "--refresh"][..],
    ] {
        let run = clean(
            world
                .command(args)
                .env("HUAWEICLOUD_SDK_SK", WRONG_SK)
                .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", SECURITY_TOKEN),
            &format!("{args:?} with a wrong secret key"),
        );
        if args[1] != "jobs" {
            assert_eq!(run.code(), 1, "{}", run.stderr());
            assert!(run.stderr().contains("401"), "{}", run.stderr());
        }
    }
    // The same through the Terraform provider's names, and without the security token.
    let run = clean(
        world
            .command(&["-vv", "plan"])
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .env("HW_ACCESS_KEY", AK)
            .env("HW_SECRET_KEY", WRONG_SK)
            .env("HW_SECURITY_TOKEN", SECURITY_TOKEN),
        "plan with Terraform names and a wrong secret key",
    );
    assert!(run.stderr().contains("401"), "{}", run.stderr());
    let run = clean(world.command(&["-vv", "plan"]), "plan without the token");
    assert!(run.stderr().contains("401"), "{}", run.stderr());

    assert!(assert_folder_clean(world.dir.path()) >= 3);
}

#[test]
fn iam_tokens_never_show() {
    let world = World::with_options(
        team(6),
        SimulatorOptions {
            token: Some(IAM_TOKEN.into()),
            ..SimulatorOptions::default()
        },
    );
    config(&world);
    let token = |value: &'static str| {
        move |cmd: Cmd| {
            cmd.env_remove("HUAWEICLOUD_SDK_AK")
                .env_remove("HUAWEICLOUD_SDK_SK")
                .env("HW_AUTH_TOKEN", value)
        }
    };
    every_command(&world, &token(IAM_TOKEN));

    for args in [
        &["-vv", "plan"][..],
        &["-vv", "apply", "--auto-approve"][..],
    ] {
        let run = clean(
            token(WRONG_TOKEN)(world.command(args)),
            &format!("{args:?} with a wrong token"),
        );
        assert_eq!(run.code(), 1, "{}", run.stderr());
        assert!(run.stderr().contains("401"), "{}", run.stderr());
    }
    assert!(assert_folder_clean(world.dir.path()) >= 3);
}

/// `deskprune simulator` takes its secrets from the environment and logs requests at `-vv`:
/// neither its help, its output nor its logs show them, whatever the clients send.
#[test]
fn the_simulator_command_keeps_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.json");
    std::fs::write(&inventory, serde_json::to_vec(&team(3)).unwrap()).unwrap();
    let simulator = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deskprune"));
        command
            .current_dir(dir.path())
            .env_clear()
            .env("DESKPRUNE_SIMULATOR_SK", SK)
            .env("DESKPRUNE_SIMULATOR_TOKEN", IAM_TOKEN)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    };

    let help = simulator().args(["simulator", "--help"]).output().unwrap();
    assert_clean("simulator --help", &help.stdout);
    assert!(String::from_utf8_lossy(&help.stdout).contains("DESKPRUNE_SIMULATOR_SK"));

    let log = std::fs::File::create(dir.path().join("simulator.log")).unwrap();
    let mut child = simulator()
        .args(["-vv", "simulator", "--inventory"])
        .arg(&inventory)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--ak",
            AK,
            "--job-seconds",
            "0.2",
        ])
        .args(["--security-token", "unused"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let endpoint = line.trim().strip_prefix("listening ").unwrap().to_string();

    // Clients with the right token, a wrong token and a wrong key pair.
    std::fs::write(
        dir.path().join("deskprune.toml"),
        format!(
            "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\nendpoint = \"{endpoint}\"\n\n[scope]\nall = true\n\n[[desktop]]\nname = \"eng-0000\"\n"
        ),
    )
    .unwrap();
    let client = |vars: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deskprune"));
        command
            .args(["-vv", "plan"])
            .current_dir(dir.path())
            .env_clear()
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (key, value) in vars {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        assert_clean("plan against `deskprune simulator`", &output.stdout);
        assert_clean("plan against `deskprune simulator`", &output.stderr);
        output
    };
    let good = client(&[("HW_AUTH_TOKEN", IAM_TOKEN)]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let bad = client(&[("HW_AUTH_TOKEN", WRONG_TOKEN)]);
    assert_eq!(bad.status.code(), Some(1));
    let bad = client(&[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", WRONG_SK)]);
    assert_eq!(bad.status.code(), Some(1));

    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut stdout, &mut rest).unwrap();
    assert_clean(
        "simulator stdout",
        format!("{line}{}", String::from_utf8_lossy(&rest)).as_bytes(),
    );
    assert_folder_clean(dir.path());
}

/// The detector itself: a truncated secret in the middle of a line is caught.
#[test]
#[should_panic(expected = "shows a piece of a secret")]
fn the_canary_catches_a_piece_of_a_secret() {
    assert_clean(
        "a log line",
        format!("token={}…", &IAM_TOKEN[3..17]).as_bytes(),
    );
}
