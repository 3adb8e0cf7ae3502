//! Gauntlet reports (work in progress).
