//! `builder`: the image builder's command line over berth_builder.

fn main() {
    eprintln!("builder: not built yet");
    std::process::exit(2);
}
