//! `authctl`: wiring only. Everything, the parsing of the command line
//! included, is in the library ([`authctl::main`]), where the tests run it.

use std::process::ExitCode;

fn main() -> ExitCode {
    authctl::main()
}
