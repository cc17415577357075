//! `tollgate`: the LLM gateway and its admin portal, one binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    tollgate_server::cli::run()
}
