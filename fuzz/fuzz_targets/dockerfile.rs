//! cargo-fuzz target `dockerfile`: see `berth_fuzz::dockerfile`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_fuzz::dockerfile(data));
