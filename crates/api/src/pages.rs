//! Lists that come in pages, as streams of pages: marker paging (scripts, orders: the next
//! page starts after the last row's id) over any [`Backend`]. The console takes as many pages
//! as the user has scrolled to; the CLI takes what it was asked for.

use futures_util::stream::{self, Stream, TryStreamExt};

use crate::backend::{Result, prelude::*};
use crate::model::order::{JobScriptOrderListModel, ListOrdersQuery};
use crate::model::script::{ListScriptsQuery, ScriptListModel};

/// Rows asked for per page.
pub const PAGE: usize = 100;

/// Pages of `fetch(marker)` until one comes back short. `marker_of` gives the next marker.
fn marker_pages<'a, T: 'a, F, Fut>(
    fetch: F,
    marker_of: fn(&T) -> i64,
) -> impl Stream<Item = Result<Vec<T>>> + 'a
where
    F: Fn(Option<i64>) -> Fut + 'a,
    Fut: std::future::Future<Output = Result<Vec<T>>> + 'a,
{
    // State: the next marker, or `None` once the last page has come.
    stream::try_unfold(Some(None), move |next: Option<Option<i64>>| {
        let fut = next.map(&fetch);
        async move {
            let Some(fut) = fut else {
                return Ok(None);
            };
            let page = fut.await?;
            let after = (page.len() >= PAGE)
                .then(|| page.last().map(marker_of))
                .flatten()
                .map(Some);
            Ok(Some((page, after)))
        }
    })
}

pub fn scripts<'a>(
    b: &'a dyn Backend,
    q: ListScriptsQuery,
) -> impl Stream<Item = Result<Vec<ScriptListModel>>> + 'a {
    marker_pages(
        move |marker| {
            let q = ListScriptsQuery {
                limit: Some(PAGE as i64),
                marker,
                ..q.clone()
            };
            async move { b.list_scripts(q).await.map(|p| p.data) }
        },
        |s| s.id,
    )
}

pub fn orders<'a>(
    b: &'a dyn Backend,
    q: ListOrdersQuery,
) -> impl Stream<Item = Result<Vec<JobScriptOrderListModel>>> + 'a {
    marker_pages(
        move |marker| {
            let q = ListOrdersQuery {
                limit: Some(PAGE as i64),
                marker,
                ..q.clone()
            };
            async move { b.list_orders(q).await.map(|p| p.data) }
        },
        |o| o.order_id,
    )
}

/// Rows from `pages` until there are at least `want`; `true` when more remain.
pub async fn at_least<T>(
    pages: impl Stream<Item = Result<Vec<T>>>,
    want: usize,
) -> Result<(Vec<T>, bool)> {
    let mut pages = std::pin::pin!(pages);
    let mut rows = Vec::new();
    let mut last = PAGE;
    while rows.len() < want {
        match pages.try_next().await? {
            Some(page) => {
                last = page.len();
                rows.extend(page);
            }
            None => return Ok((rows, false)),
        }
    }
    Ok((rows, last >= PAGE))
}
