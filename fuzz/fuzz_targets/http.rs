#![no_main]
//! Fuzz target: http (to be written).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
