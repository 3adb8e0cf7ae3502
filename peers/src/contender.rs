//! The implementations under test. Each file holds one counter actor written the way
//! that library's documentation recommends, with its default features.

mod gauntlet;
mod kameo;
mod ractor;
mod tokio_mpsc;

pub use self::gauntlet::Gauntlet;
pub use self::kameo::Kameo;
pub use self::ractor::Ractor;
pub use self::tokio_mpsc::{TokioMpsc, TokioMpscTimeout};
