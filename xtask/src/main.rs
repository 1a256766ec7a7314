//! `cargo xtask`: the codegen deployer. Parses the command line and dispatches; see [`xtask::cli`].

fn main() -> std::process::ExitCode {
    xtask::cli::main()
}
