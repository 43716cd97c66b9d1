//! `GET desktops` and `GET desktops/detail`: one page of the filtered inventory, with the
//! number of all matching desktops.

use axum::http::StatusCode;

use crate::workspace::wire::{
    DETAIL_PAGE_LIMIT, LIST_PAGE_LIMIT, ListDesktopsDetailResponse, ListDesktopsResponse,
};

use super::detail::describe;
use super::filter::{DesktopFilter, ListKind};
use super::query::Query;
use super::reply::{Failure, Reply};
use super::state::State;

/// The spec's largest `offset` (an int32).
const MAX_OFFSET: usize = i32::MAX as usize;

pub(super) fn list_desktops(
    state: &State,
    query: &Query,
    kind: ListKind,
) -> Result<Reply, Failure> {
    let filter = DesktopFilter::parse(query, kind)?;
    // UNCONFIRMED: the detail list's limit is 500 in the doc and 1000 in the spec; the smaller
    // one (also as the default) catches a client that relies on the larger.
    let page_limit = match kind {
        ListKind::Simple => LIST_PAGE_LIMIT,
        ListKind::Detail => DETAIL_PAGE_LIMIT,
    };
    let offset = query.number("offset", 0, MAX_OFFSET)?;
    let limit = query.number("limit", page_limit, page_limit)?;
    let (total_count, page) = state.desktops.page(&filter, offset, limit);
    let reply = match kind {
        ListKind::Simple => Reply::json(
            StatusCode::OK,
            &ListDesktopsResponse {
                total_count,
                desktops: page.into_iter().map(|stored| stored.listed()).collect(),
            },
        ),
        ListKind::Detail => Reply::json(
            StatusCode::OK,
            &ListDesktopsDetailResponse {
                desktops: page
                    .into_iter()
                    .map(|stored| describe(&stored.seed))
                    .collect(),
                total_count,
            },
        ),
    };
    Ok(reply)
}
