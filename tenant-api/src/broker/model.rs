//! Data the broker's handlers and its SQL (`store/`) share: plain types, with no HTTP parsing
//! and no SQL, so that `store/` depends on nothing else of the broker's (see
//! `infra/dev/module_cycles.py`'s layer rules).

pub mod matrix_selectors;
