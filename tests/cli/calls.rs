//! How many calls a plan and an apply make, counted by the simulator: one list call per 1,000
//! desktops (at least one, which learns the total), one detail and one batch-delete call per
//! 100 deletions, and nothing more.

use crate::support::*;

fn world(total: usize, keep: usize) -> World {
    let world = World::new(team(total));
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n\
         [guard]\nmax_deletions = 100000\nmax_delete_percent = 100\nallow_empty = true\n\n\
         [client]\nrequests_per_second = 1000\n\n",
    );
    for i in 0..keep {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    world
}

fn ceil_div(n: usize, d: usize) -> u64 {
    n.div_ceil(d) as u64
}

#[test]
fn a_plan_lists_once_per_thousand_desktops() {
    for total in [0, 1000, 2500] {
        let world = world(total, total);
        world.run(&["plan"]).success();
        let stats = world.stats();
        // Even an empty inventory takes one call: its answer says the total is 0.
        assert_eq!(
            stats.list_desktops,
            ceil_div(total, 1000).max(1),
            "{total} desktops"
        );
        assert_eq!(
            stats.list_desktops_detail, 0,
            "nothing to delete, no detail"
        );
        assert_eq!(stats.batch_delete, 0);
    }
}

#[test]
fn an_apply_sends_one_batch_delete_per_hundred_deletions() {
    for (total, deletions) in [(2500, 250), (1000, 100), (300, 1)] {
        let world = world(total, total - deletions);
        let run = world.run(&[
            "apply",
            "--auto-approve",
            "--allow-deletions",
            &deletions.to_string(),
            "--no-wait",
        ]);
        run.success();
        let stats = world.stats();
        assert_eq!(stats.list_desktops, ceil_div(total, 1000), "{total}");
        assert_eq!(
            stats.list_desktops_detail,
            ceil_div(deletions, 100),
            "who is logged in, 100 IDs a call"
        );
        assert_eq!(stats.batch_delete, ceil_div(deletions, 100), "{deletions}");
        let sent: usize = stats.batch_delete_ids.iter().map(Vec::len).sum();
        assert_eq!(sent, deletions);
        assert_eq!((stats.show_job, stats.list_sub_jobs), (0, 0), "--no-wait");
        assert_eq!(stats.rejected, 0);
    }
}
