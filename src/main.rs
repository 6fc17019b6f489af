use std::process::ExitCode;

fn main() -> ExitCode {
    tolk::app::main()
}
