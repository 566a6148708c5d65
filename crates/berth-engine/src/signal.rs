//! Signal names as Docker accepts them: "SIGTERM", "TERM", "15", "SIGRTMIN+3".

use crate::error::EngineError;
use nix::sys::signal::Signal;
use std::str::FromStr;

/// Parses a signal the way Docker's `signal.ParseSignal` does.
pub fn parse(s: &str) -> Result<i32, EngineError> {
    let invalid = || EngineError::InvalidParameter(format!("Invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(invalid())
        };
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    if let Some(off) = name.strip_prefix("SIGRTMIN+") {
        let n: i32 = off.parse().map_err(|_| invalid())?;
        let sig = libc::SIGRTMIN() + n;
        return if sig <= libc::SIGRTMAX() {
            Ok(sig)
        } else {
            Err(invalid())
        };
    }
    if let Some(off) = name.strip_prefix("SIGRTMAX-") {
        let n: i32 = off.parse().map_err(|_| invalid())?;
        let sig = libc::SIGRTMAX() - n;
        return if sig >= libc::SIGRTMIN() {
            Ok(sig)
        } else {
            Err(invalid())
        };
    }
    Signal::from_str(&name)
        .map(|s| s as i32)
        .map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_forms() {
        assert_eq!(parse("SIGTERM").ok(), Some(15));
        assert_eq!(parse("term").ok(), Some(15));
        assert_eq!(parse("9").ok(), Some(9));
        assert_eq!(parse("SIGRTMIN+1").ok(), Some(libc::SIGRTMIN() + 1));
        assert!(parse("FOO").is_err());
        assert!(parse("0").is_err());
        assert!(parse("99").is_err());
    }
}
