//! The system clock.

use chrono::{DateTime, SubsecRound as _, Utc};
use platform::ports::Clock;

/// The operating system's time, in whole seconds: credentials show `issuanceDate`-style
/// timestamps to the second, and a stored record must equal the one that was signed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(0)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Timelike as _;

    use super::*;

    #[test]
    fn the_system_clock_has_no_fraction_of_a_second() {
        assert_eq!(SystemClock.now().nanosecond(), 0);
    }
}
