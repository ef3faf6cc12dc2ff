//! Any message as its DATA wire form.
//! The invariants are those of the stable corpus test (tests/fuzz_checks/):
//! a broken one panics, which libFuzzer reports as a crash.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::wire("", data));
