//! cargo-fuzz target `dns_query`: see `berth_fuzz::dns_query`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_fuzz::dns_query(data));
