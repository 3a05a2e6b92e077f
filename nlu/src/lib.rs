//! Natural-language understanding for AutoGLM Home Services (pure: no I/O, no async).
//!
//! The pipeline of DESIGN.md §2: [`normalize`] the text, find date-time
//! entities with the zh/en [`time`] parser, find services, rooms and other
//! slots with the [`lexicon`] and [`rules`], ask an intent+slot [`model`]
//! (served by the GPU pool, behind a trait), and merge everything into one
//! [`result::NluResult`] ([`understand`]). [`corpus`] generates the synthetic
//! training set from templates and the lexicon.

pub mod corpus;
pub mod dialogue;
pub mod evaluate;
pub mod labels;
pub mod lexicon;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod result;
pub mod rules;
pub mod time;
pub mod understand;

pub use labels::{Intent, Lang, SlotKind};
pub use result::{NluEntity, NluResult, Slots};
