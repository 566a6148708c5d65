//! cargo-fuzz target `dockerignore`: see `berth_fuzz::dockerignore`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_fuzz::dockerignore(data));
