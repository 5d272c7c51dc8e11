#![no_main]
//! Fuzz target: the DHCP and DHCPv6 readers (host name, client identifier, FQDN).
use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::dhcp::{parse_v4, parse_v6};

fuzz_target!(|data: &[u8]| {
    for found in [parse_v4(data), parse_v6(data)].into_iter().flatten() {
        assert!(!found.is_empty());
        if let Some(name) = &found.host_name {
            // Presentation form: at most 4 output bytes (`\DDD`) per input byte, nothing unescaped.
            assert!(name.len() <= 4 * data.len());
            assert!(name.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{name:?}");
        }
        if let Some(id) = &found.client_id {
            assert!(id.len() <= 3 * 64);
        }
    }
});
