//! The `vigie` binary: everything lives in the library; see `vigie::cli`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    vigie::cli::main()
}
