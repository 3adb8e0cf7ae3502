//! The smart-home device runtime (in progress).
