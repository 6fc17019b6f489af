use std::process::ExitCode;

fn main() -> ExitCode {
    tolk::commands::main()
}
