//! The mistakes a new user is most likely to make, and what deskprune tells them: each message
//! says what is wrong and how to fix it, and nothing is sent.

use crate::support::*;

/// Runs `run` in a world whose `deskprune.toml` is `[cloud]` then `config`, and snapshots what
/// the user sees.
fn mistake(name: &str, config: &str, run: impl FnOnce(&World) -> Run) {
    let world = World::new(team(4));
    world.config(config);
    let run = run(&world);
    assert_eq!(run.code(), 1, "{name}: {}", run.stderr());
    assert_eq!(world.stats().batch_delete, 0, "{name}: nothing is sent");
    insta::assert_snapshot!(name, run.transcript(&world));
}

#[test]
fn no_config_file() {
    mistake("no_config_file", "", |world| {
        world.run(&["--config", "deskpune.toml", "plan"])
    });
}

#[test]
fn missing_credentials() {
    mistake("missing_credentials", "[scope]\nall = true\n", |world| {
        world
            .command(&["plan"])
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .run()
    });
}

#[test]
fn half_a_key_pair() {
    mistake("half_a_key_pair", "[scope]\nall = true\n", |world| {
        world
            .command(&["plan"])
            .env_remove("HUAWEICLOUD_SDK_SK")
            .run()
    });
}

#[test]
fn typo_in_a_key() {
    mistake(
        "typo_in_a_key",
        "[scope]\ntag = { team = \"eng\" }\n",
        |world| world.run(&["plan"]),
    );
}

#[test]
fn empty_scope() {
    mistake("empty_scope", "[scope]\n", |world| world.run(&["plan"]));
}

#[test]
fn forgot_the_scope() {
    mistake(
        "forgot_the_scope",
        "[[desktop]]\nname = \"eng-0000\"\n",
        |world| world.run(&["validate"]),
    );
}

#[test]
fn no_network() {
    let world = World::new(team(1));
    std::fs::write(
        world.path("deskprune.toml"),
        "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"\nendpoint = \"http://127.0.0.1:9\"\n\n[client]\nmax_retries = 0\n\n[scope]\nall = true\n",
    )
    .unwrap();
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1);
    insta::assert_snapshot!("no_network", run.transcript(&world));
}

#[test]
fn wrong_secret_key() {
    mistake("wrong_secret_key", "[scope]\nall = true\n", |world| {
        world
            .command(&["plan"])
            .env("HUAWEICLOUD_SDK_SK", "a-different-key")
            .run()
    });
}

#[test]
fn wrong_project_id() {
    let world = World::new(team(1));
    std::fs::write(
        world.path("deskprune.toml"),
        format!(
            "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091111\"\nendpoint = \"{}\"\n\n[scope]\nall = true\n",
            world.endpoint
        ),
    )
    .unwrap();
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1);
    insta::assert_snapshot!("wrong_project_id", run.transcript(&world));
}

#[test]
fn apply_in_a_pipeline_without_auto_approve() {
    mistake(
        "apply_in_a_pipeline_without_auto_approve",
        "[scope]\nall = true\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n",
        |world| world.run(&["apply"]),
    );
}

#[test]
fn wrong_region_is_warned_about_offline() {
    let world = World::new(vec![]);
    std::fs::write(
        world.path("deskprune.toml"),
        "[cloud]\nregion = \"cn-north-44\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"\n\n[scope]\nall = true\n",
    )
    .unwrap();
    // `validate` is offline: the warning comes before any request could fail on the name.
    let run = world.run(&["validate"]);
    run.success();
    insta::assert_snapshot!("wrong_region", run.transcript(&world));
}
