//! What airs on every channel, and when: the one home of the running order.
//!
//! - [`block`]: programme blocks, named ordered lists of content selectors with dwell
//!   times;
//! - [`recurrence`] and [`timeline`] (pure): schedule entries placing blocks on a channel
//!   by date and time, expanded and resolved into back-to-back segments (priorities,
//!   hard starts, gaps filled by the fallback, conflicts found);
//! - [`urgent`]: urgent overrides under the two-person rule;
//! - [`airing`]: the program of a channel at a moment (the default sequence as the
//!   fallback), handed to playout through its `ProgramSource` seam, and the plans of the
//!   channels to air;
//! - [`edit`]: operators' checked, audited edits;
//! - [`epg`]: the programme guide as XMLTV and JSON.
//!
//! Times are China Standard Time (+08:00, no daylight saving). Playout re-reads a program
//! when the store's change counter moves (every writer's commit bumps it), at the
//! program's `expires` (next page change) and at its `cut_at` (at the second).

pub mod airing;
pub mod block;
pub mod edit;
pub mod epg;
pub mod recurrence;
pub mod timeline;
pub mod urgent;

pub use airing::{
    channel, channels, default_sequence, plan_channels, program_at, ChannelInfo, Planner,
    ScheduleProgram,
};
pub use edit::EditError;
