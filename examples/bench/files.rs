//! The files a run reads: the inventory (desktops shaped like the reference's sample page)
//! and the config (the default or the tuned `[client]`, pointed at the simulator).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::{Args, Client, Declare, PROJECT};

pub(super) fn desktop_id(index: usize) -> String {
    format!("{:08x}-7b4d-4e21-9c0a-{index:012x}", 0x3f2c_1a9e_u32)
}

/// Desktops shaped like the reference's sample page (about 1 KB of JSON each).
pub(super) fn write_inventory(path: &Path, count: usize) -> anyhow::Result<()> {
    let desktops: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let id = desktop_id(i);
            let name = format!("eng-{i:06}");
            let user = format!("user{i:06}");
            json!({
                "desktop_id": id,
                "computer_name": name,
                "os_host_name": name,
                "created": "2024-03-11 02:14:57",
                "ip_address": format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
                "user_name": user,
                "attach_user_infos": [{
                    "user_id": format!("8a2b3c4d5e6f47a8b9c0{i:012x}"),
                    "user_name": user,
                    "user_group": "users",
                    "type": "USER"
                }],
                "user_group": "users",
                "sid": format!("S-1-5-21-1004336348-1177238915-682003330-{}", 1000 + i),
                "ou_name": "",
                "enterprise_project_id": "0",
                "tags": [{"key": "team", "value": "eng"}, {"key": "env", "value": "prod"}],
                "in_maintenance_mode": false,
                "share_resource_sku": "",
                "desktop_type": "DEDICATED",
                "desktop_detail_type": "DEDICATED",
                "subnet_id": "5c1f0e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                "bill_resource_id": id,
                "status": "ACTIVE",
                "task_status": "",
                "availability_zone": "cn-north-4a",
                "connect_status": "REGISTERED",
                "pool_id": "",
                "domain_status": 1,
                "domain_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "project_id": PROJECT,
                "login_status": "REGISTERED"
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_vec(&desktops)?)?;
    Ok(())
}

/// Declares the desktops at `keep` by name; the budget allows exactly `deletions`; the
/// headline's `[client]`.
pub(super) fn write_config(
    path: &Path,
    keep: &[usize],
    deletions: usize,
    args: &Args,
) -> anyhow::Result<()> {
    write_config_for(path, keep, deletions, args, args.client)
}

/// As [`write_config`], with `client`'s `[client]` table (none for the default).
pub(super) fn write_config_for(
    path: &Path,
    keep: &[usize],
    deletions: usize,
    args: &Args,
    client: Client,
) -> anyhow::Result<()> {
    let mut text = format!(
        "[scope]\ntags = {{ team = \"eng\" }}\n\n\
         [guard]\nmax_deletions = {}\nmax_delete_percent = 100\n\n",
        deletions.max(1),
    );
    if client == Client::Tuned {
        writeln!(
            text,
            "[client]\nmax_concurrency = {}\nrequests_per_second = 1000\ntimeout = 60\n",
            args.concurrency
        )?;
    }
    match args.declare {
        Declare::Tables => {
            for i in keep {
                writeln!(text, "[[desktop]]\nname = \"eng-{i:06}\"")?;
            }
        }
        Declare::Lists => {
            text.push_str("[desktops]\nnames = [\n");
            for i in keep {
                writeln!(text, "  \"eng-{i:06}\",")?;
            }
            text.push_str("]\n");
        }
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// Puts `[cloud]` (pointing at `endpoint`) in front of the config.
pub(super) fn write_endpoint(path: &Path, endpoint: &str) -> anyhow::Result<()> {
    let rest = std::fs::read_to_string(path)?;
    let cloud = format!(
        "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\nendpoint = \"{endpoint}\"\n\n"
    );
    std::fs::write(path, cloud + &rest)?;
    Ok(())
}
