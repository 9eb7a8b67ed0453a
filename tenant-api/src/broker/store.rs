//! Persistence of the broker's data in a tenant database. Functions take the caller's connection
//! or transaction (`&mut PgConnection`); the caller owns the transaction.

pub mod branches;
pub mod environments;
pub mod for_verification;
pub mod integrations;
pub mod matrix;
pub mod pacticipants;
pub mod pacts;
pub mod reports;
pub mod verifications;
pub mod versions;
pub mod webhooks;

/// The most elements a listing returns when the request asks for no page: a larger collection
/// is answered with its first page of this size and a `next` link, so that no request reads a
/// tenant's whole history into memory.
pub const UNPAGINATED_MAX_ITEMS: i64 = 10_000;

/// The `(limit, offset)` a listing reads: the page asked for, or, for the whole collection, one
/// element more than [`UNPAGINATED_MAX_ITEMS`] (to learn whether there are more).
pub(crate) fn window(page: Option<(i64, i64)>) -> (i64, i64) {
    page.unwrap_or((UNPAGINATED_MAX_ITEMS + 1, 0))
}

/// Drops the look-ahead element of a whole-collection listing; `true` when the listing must
/// count its elements (a page was asked for, or the collection is larger than what is returned).
pub(crate) fn must_count<T>(page: Option<(i64, i64)>, rows: &mut Vec<T>) -> bool {
    let cap = UNPAGINATED_MAX_ITEMS as usize;
    if page.is_none() && rows.len() > cap {
        rows.truncate(cap);
        return true;
    }
    page.is_some()
}
