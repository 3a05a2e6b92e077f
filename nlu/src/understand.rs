//! Merging rules, model and time parser into one [`crate::NluResult`]. (Being written.)
