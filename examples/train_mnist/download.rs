//! `--download`: fetching MNIST into the data directory before training.
//!
//! The downloader needs the crate's `download` feature (an HTTPS client). The example does not
//! turn it on by default, so that the default build stays pure Rust and touches no network
//! code; without it, `--download` fails at once with the exact command that has it.

use std::path::Path;

use duograd::train::DataSet;

/// Makes sure `dir` holds the four MNIST files (downloading the missing ones from `mirror`, or
/// the default mirror), and says where they are.
pub fn fetch_mnist(dataset: DataSet, dir: &Path, mirror: Option<&str>) -> Result<(), String> {
    if dataset != DataSet::Mnist {
        return Err(format!(
            "--download fetches MNIST only; the {dataset} data set is read from --data-dir FILE \
             or $DIGITS_CSV"
        ));
    }
    fetch(dir, mirror)
}

#[cfg(feature = "download")]
fn fetch(dir: &Path, mirror: Option<&str>) -> Result<(), String> {
    let mirror = mirror.unwrap_or(duograd::data::DEFAULT_MIRROR);
    println!("fetching MNIST from {mirror} into {}", dir.display());
    let paths = duograd::data::download_mnist(dir, mirror).map_err(|e| e.to_string())?;
    println!("MNIST is in {} (SHA-256 verified):", dir.display());
    for path in paths {
        println!("  {}", path.display());
    }
    if dir != Path::new(duograd::data::Mnist::DEFAULT_DIR) {
        println!(
            "next time: --data-dir {0} or MNIST_DIR={0}",
            shell_word(&dir.display().to_string())
        );
    }
    Ok(())
}

#[cfg(not(feature = "download"))]
fn fetch(dir: &Path, _mirror: Option<&str>) -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).map(|a| shell_word(&a)).collect();
    Err(format!(
        "this train_mnist was built without the `download` feature, which --download needs. \
         Run instead:\n  cargo run --release --features download --example train_mnist -- {}\n\
         or put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
         t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from an MNIST mirror into {} \
         (or any directory, then pass --data-dir DIR or set MNIST_DIR=DIR)",
        args.join(" "),
        dir.display()
    ))
}

/// `word` quoted for a POSIX shell when it holds anything but plain characters.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
