//! The regions where the Workspace service is known to run, to catch a mistyped region before
//! the first request fails on a name that does not resolve.

/// The official SDK's Workspace regions, plus `na-mexico-1` from the service's own docs.
pub const KNOWN_REGIONS: [&str; 19] = [
    "af-north-1",
    "af-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "cn-east-3",
    "cn-east-5",
    "cn-north-11",
    "cn-north-4",
    "cn-north-9",
    "cn-south-1",
    "cn-southwest-2",
    "eu-west-101",
    "la-north-2",
    "la-south-2",
    "me-east-1",
    "na-mexico-1",
    "sa-brazil-1",
    "tr-west-1",
];

/// A warning for a region deskprune does not know, with the closest known one. Regions are
/// added over time, so this warns rather than refuses.
pub fn unknown_region_warning(region: &str) -> Option<String> {
    if KNOWN_REGIONS.contains(&region) {
        return None;
    }
    let closest = KNOWN_REGIONS
        .iter()
        .min_by_key(|known| crate::text::edit_distance(region, known))
        .filter(|known| crate::text::edit_distance(region, known) <= 2);
    let suggestion = closest
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default();
    Some(format!(
        "`[cloud] region = \"{region}\"` is not a region where deskprune knows the Workspace service runs{suggestion}; if it is new, set `[cloud] endpoint` to its address"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_pass_and_near_misses_are_named() {
        assert_eq!(unknown_region_warning("cn-north-4"), None);
        let warning = unknown_region_warning("cn-north-44").unwrap();
        assert!(warning.contains("did you mean `cn-north-4`?"), "{warning}");
        let far = unknown_region_warning("mars-central-1").unwrap();
        assert!(!far.contains("did you mean"), "{far}");
    }
}
