//! `Host` headers: parsing never panics, what is accepted is a bounded DNS name or IP literal,
//! and parsing what was accepted gives the same name again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_api::host::{parse_authority, target, MAX_HOST_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((name, authority)) = parse_authority(raw) {
        assert!(name.len() <= MAX_HOST_LEN + 2, "{name:?}");
        assert!(!name.is_empty());
        let (again, _) = parse_authority(&authority).expect("an accepted authority parses again");
        assert_eq!(again, name);
        let _ = target(&name, "localhost");
        let _ = target(&name, "treaty.example");
    }
});
