//! Reusable view pieces.

pub mod empty;
pub mod form;
pub mod icons;
pub mod layout;
pub mod theme;
