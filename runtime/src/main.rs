//! `runtime`: runc's command line over berth_runtime.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
