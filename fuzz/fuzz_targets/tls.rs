#![no_main]
//! Fuzz target: tls (to be written).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
