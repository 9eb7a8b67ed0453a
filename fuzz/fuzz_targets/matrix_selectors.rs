//! Matrix and can-i-deploy query strings: selector parsing and the checks made before any
//! database access never panic, and an accepted limit is within the broker's bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_api::broker::matrix::selectors::{
    option_errors, parse_can_i_deploy_query, parse_matrix_query, selector_shape_errors, MAX_LIMIT,
};
use tenant_api::broker::query::parse_nested_query;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(params) = parse_nested_query(query) else {
        return;
    };
    let (selectors, options) = parse_matrix_query(&params);
    let _ = selector_shape_errors(&selectors);
    let errors = option_errors(&options, true);
    if errors.is_empty() {
        assert!((1..=MAX_LIMIT).contains(&options.limit()), "{query:?}");
    }
    for selector in &selectors {
        let _ = selector.all_for_pacticipant();
    }
    let (selectors, options) = parse_can_i_deploy_query(&params);
    let _ = selector_shape_errors(&selectors);
    let _ = option_errors(&options, false);
});
