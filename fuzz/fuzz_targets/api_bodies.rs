//! cargo-fuzz target `api_bodies`: see `berth_fuzz::api_bodies`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_fuzz::api_bodies(data));
