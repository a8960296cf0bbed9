//! `dtvm statetest`: filled by the state-test host work.
pub fn main(_args: &[String]) -> i32 {
    eprintln!("statetest: not implemented yet");
    2
}
