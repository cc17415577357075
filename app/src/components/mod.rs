//! Reusable view pieces.

pub mod chart;
pub mod empty;
pub mod form;
pub mod format;
pub mod icons;
pub mod layout;
pub mod range;
pub mod sparkline;
pub mod spend_form;
pub mod spend_table;
pub mod theme;
