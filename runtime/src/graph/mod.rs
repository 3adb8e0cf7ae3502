//! Flow graphs over actors (in progress).
