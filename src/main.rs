//! The `handover` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(handover::main_entry())
}
