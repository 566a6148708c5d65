//! cargo-fuzz target `tar_extract`: see `berth_fuzz::tar_extract`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_fuzz::tar_extract(data));
