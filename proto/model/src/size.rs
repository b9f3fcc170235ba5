//! Payload sizes and their labels (`128B`, `16KiB`, `1MiB`).

use std::fmt;
use std::str::FromStr;

/// A payload size in bytes. `Display` is the size label of ids and file names — `128B`, `1KiB`,
/// `16KiB`, `1MiB`; sizes that are not a whole number of KiB/MiB keep bytes (`1500B`) — and
/// `FromStr` reads it back (also `KB`/`MB`, powers of 1000, and bare numbers).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Size(pub u64);

impl Size {
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl From<u64> for Size {
    fn from(bytes: u64) -> Size {
        Size(bytes)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: u64 = 1024 * 1024;
        let n = self.0;
        let label = if n >= MIB && n.is_multiple_of(MIB) {
            format!("{}MiB", n / MIB)
        } else if n >= 1024 && n.is_multiple_of(1024) {
            format!("{}KiB", n / 1024)
        } else {
            format!("{n}B")
        };
        f.pad(&label)
    }
}

/// A size label that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {0:?} (expected e.g. 256, 256B, 16KiB, 1MiB)")]
pub struct ParseSizeError(pub String);

impl FromStr for Size {
    type Err = ParseSizeError;
    fn from_str(label: &str) -> Result<Size, ParseSizeError> {
        let err = || ParseSizeError(label.to_owned());
        let trimmed = label.trim();
        let digits_end = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (num, unit) = trimmed.split_at(digits_end);
        let n: u64 = num.parse().map_err(|_| err())?;
        let mult = match unit.trim() {
            "" | "B" => 1,
            "KiB" | "K" => 1024,
            "MiB" | "M" => 1024 * 1024,
            "GiB" | "G" => 1024 * 1024 * 1024,
            "KB" | "kB" => 1000,
            "MB" => 1_000_000,
            _ => return Err(err()),
        };
        n.checked_mul(mult).map(Size).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for (n, l) in [
            (128, "128B"),
            (1024, "1KiB"),
            (16 * 1024, "16KiB"),
            (256 * 1024, "256KiB"),
            (1024 * 1024, "1MiB"),
            (1500, "1500B"),
            (0, "0B"),
        ] {
            assert_eq!(Size(n).to_string(), l);
            assert_eq!(l.parse::<Size>(), Ok(Size(n)));
        }
        assert_eq!("2KB".parse::<Size>(), Ok(Size(2000)));
        assert_eq!("256".parse::<Size>(), Ok(Size(256)));
        assert!("lots".parse::<Size>().is_err());
        assert!("99999999999999999999G".parse::<Size>().is_err());
        for n in (0..5000).chain([1 << 20, 3 << 20, (1 << 20) + 1]) {
            assert_eq!(Size(n).to_string().parse::<Size>(), Ok(Size(n)));
        }
    }
}
