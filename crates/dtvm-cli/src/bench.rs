//! `dtvm bench`: filled by the benchmark harness work.
pub fn main(_args: &[String]) -> i32 {
    eprintln!("bench: not implemented yet");
    2
}
