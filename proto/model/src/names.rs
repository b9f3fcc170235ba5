//! One macro gives every vocabulary enum its names: `ALL`, `name()`, `Display`, `FromStr` and
//! serde all come from the same list, so a name is written exactly once.

use std::fmt;

/// A name that is not one of an enum's levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What was being parsed, e.g. `variant`.
    pub what: &'static str,
    pub found: String,
    /// Every accepted name.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?} (expected one of {})",
            self.what,
            self.found,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

/// Declares a fieldless enum whose levels each have one stable lowercase name (plus optional
/// aliases accepted when parsing). Generates `ALL`, `NAMES`, `name()`, `Display`, `FromStr`,
/// serde (by name), `JsonSchema`, and with the `clap` feature `clap::ValueEnum`.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $T:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $V:ident = $name:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        #[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
        pub enum $T {
            $(
                $(#[$vmeta])*
                #[serde(rename = $name)]
                #[cfg_attr(feature = "clap", value(name = $name))]
                $V,
            )+
        }

        impl $T {
            /// Every level, in declaration order (the order reports show them in).
            pub const ALL: [$T; [$($name),+].len()] = [$($T::$V),+];
            /// The name of every level, in the order of `ALL`.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The stable name used in ids, file names, the CLI and JSON.
            pub const fn name(self) -> &'static str {
                match self {
                    $($T::$V => $name,)+
                }
            }
        }

        impl std::fmt::Display for $T {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.name())
            }
        }

        impl std::str::FromStr for $T {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name $(| $alias)* => Ok($T::$V),)+
                    _ => Err($crate::UnknownName {
                        what: $what,
                        found: s.to_owned(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }
    };
}
