//! The label sets of DESIGN.md §3: services and rooms.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! labels {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[doc = $text] $variant),+ }

        impl $name {
            /// Every label, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The label as the API spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::DomainError::Invalid {
                        field: stringify!($name),
                        reason: format!("unknown {} {s:?}; expected one of: {}",
                            stringify!($name).to_lowercase(),
                            [$($text),+].join(", ")),
                    }),
                }
            }
        }
    };
}

labels!(
    /// A service the platform sells.
    Service {
        Cleaning = "cleaning",
        DeepCleaning = "deep_cleaning",
        MoveInCleaning = "move_in_cleaning",
        WindowCleaning = "window_cleaning",
        ApplianceCleaning = "appliance_cleaning",
        Nanny = "nanny",
        MaternityNurse = "maternity_nurse",
        ElderlyCare = "elderly_care",
        Plumbing = "plumbing",
        Electrical = "electrical",
        ApplianceRepair = "appliance_repair",
        Moving = "moving",
    }
);

labels!(
    /// A room of a home, for cleaning services.
    Room {
        Kitchen = "kitchen",
        Bathroom = "bathroom",
        LivingRoom = "living_room",
        Bedroom = "bedroom",
        Balcony = "balcony",
        WholeHome = "whole_home",
    }
);

impl Service {
    /// Whether rooms apply to this service.
    pub fn takes_rooms(self) -> bool {
        matches!(
            self,
            Service::Cleaning
                | Service::DeepCleaning
                | Service::MoveInCleaning
                | Service::WindowCleaning
                | Service::ApplianceCleaning
        )
    }

    /// Whether a booking with no room means the whole home.
    pub fn defaults_to_whole_home(self) -> bool {
        matches!(self, Service::Cleaning | Service::DeepCleaning)
    }

    /// Index of this service in [`Service::ALL`]; stable, used for compact tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_text_and_json() {
        for s in Service::ALL {
            assert_eq!(s.as_str().parse::<Service>().ok(), Some(*s));
            let json = serde_json::to_string(s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        for r in Room::ALL {
            assert_eq!(r.as_str().parse::<Room>().ok(), Some(*r));
        }
        assert_eq!(Service::ALL.len(), 12);
        assert_eq!(Room::ALL.len(), 6);
    }

    #[test]
    fn unknown_label_names_the_choices() {
        let err = "gardening".parse::<Service>().unwrap_err().to_string();
        assert!(err.contains("gardening") && err.contains("cleaning"), "{err}");
    }
}
