//! `builder`: the image builder's command line over berth_builder.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
