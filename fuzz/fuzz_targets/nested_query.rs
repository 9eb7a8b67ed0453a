//! Rack's nested query parsing: never panics, whatever the query string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_api::broker::query::{parse_nested_query, unescape};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let _ = unescape(query);
    let _ = parse_nested_query(query);
});
