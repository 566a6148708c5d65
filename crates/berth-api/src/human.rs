//! Docker's human-readable durations (go-units `HumanDuration`), used in `ps` STATUS and CREATED.

use std::time::Duration;

/// "Less than a second", "3 seconds", "About a minute", "2 hours", "3 weeks", ...
pub fn duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Go rounds to the nearest hour here.
    let hours = (d.as_secs_f64() / 3600.0).round() as u64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", seconds / 3600 / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_units() {
        let s = Duration::from_secs;
        assert_eq!(duration(Duration::from_millis(300)), "Less than a second");
        assert_eq!(duration(s(1)), "1 second");
        assert_eq!(duration(s(59)), "59 seconds");
        assert_eq!(duration(s(61)), "About a minute");
        assert_eq!(duration(s(45 * 60)), "45 minutes");
        assert_eq!(duration(s(90 * 60)), "2 hours");
        assert_eq!(duration(s(3 * 86400)), "3 days");
        assert_eq!(duration(s(20 * 86400)), "2 weeks");
        assert_eq!(duration(s(100 * 86400)), "3 months");
        assert_eq!(duration(s(800 * 86400)), "2 years");
    }
}
