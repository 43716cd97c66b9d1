//! A seeded desktop as the detail list serves it: the fields it shares with the simple list,
//! plus `login_status`. Detail-only objects (addresses, flavor, volumes, …) are absent, as the
//! SDK allows.

use crate::workspace::wire::DesktopDetailInfo;

use super::seed::{DEFAULT_LOGIN_STATUS, SeedDesktop};

pub(super) fn describe(seed: &SeedDesktop) -> DesktopDetailInfo {
    let desktop = seed.desktop.clone();
    let ip_addresses = desktop
        .ip_address
        .as_ref()
        .map(|ip| Vec::from_iter((!ip.is_empty()).then(|| ip.clone())));
    DesktopDetailInfo {
        desktop_id: desktop.desktop_id,
        computer_name: desktop.computer_name,
        os_host_name: desktop.os_host_name,
        addresses: None,
        ip_addresses,
        ipv4: desktop.ip_address,
        ipv6: None,
        user_list: None,
        user_group_list: None,
        desktop_type: desktop.desktop_type,
        metadata: None,
        flavor: None,
        status: desktop.status,
        task_status: desktop.task_status,
        domain_status: desktop.domain_status,
        in_maintenance_mode: desktop.in_maintenance_mode,
        created: desktop.created,
        security_groups: None,
        login_status: Some(
            seed.login_status
                .clone()
                .unwrap_or_else(|| DEFAULT_LOGIN_STATUS.to_string()),
        ),
        user_name: desktop.user_name,
        attach_user_infos: desktop.attach_user_infos,
        product_id: None,
        share_resource_sku: desktop.share_resource_sku,
        root_volume: None,
        data_volumes: None,
        user_group: desktop.user_group,
        availability_zone: desktop.availability_zone,
        site_type: None,
        site_name: None,
        product: None,
        ou_name: desktop.ou_name,
        os_version: None,
        sid: desktop.sid,
        order_id: None,
        tags: desktop.tags,
        is_support_internet: None,
        internet_mode: None,
        internet_mode_list: None,
        is_attaching_eip: None,
        attach_state: None,
        enterprise_project_id: desktop.enterprise_project_id,
        subnet_id: desktop.subnet_id,
        bill_resource_id: desktop.bill_resource_id,
        process: None,
        root_resource_id: None,
        is_freeze: None,
        isolated: None,
        domain: None,
        agent_version: None,
    }
}
