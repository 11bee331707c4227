//! Generators of small CIFAR-10-shaped datasets for the tests.
#![allow(dead_code)] // each test binary uses a different subset

use cifar10::CLASSES;
use flate2::write::GzEncoder;
use image::{ImageBuffer, Rgb};
use std::cell::RefCell;
use std::fs;
use std::path::Path;

pub const IMG: usize = 3072;
pub const BATCHES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

/// Small deterministic PRNG (xorshift64*), so tests need no extra crates.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

/// What a generated dataset should load as.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub train_images: Vec<u8>,
    pub train_labels: Vec<u8>,
    pub test_images: Vec<u8>,
    pub test_labels: Vec<u8>,
}

impl Expected {
    pub fn assert_matches(&self, d: &cifar10::Cifar10) {
        assert_eq!(d.train.labels, self.train_labels, "train labels");
        assert_eq!(d.test.labels, self.test_labels, "test labels");
        assert!(d.train.images == self.train_images, "train pixels differ");
        assert!(d.test.images == self.test_images, "test pixels differ");
    }
}

/// Label of record `r` in batch file `f`: fixed, covers all classes.
pub fn batch_label(f: usize, r: usize) -> u8 {
    ((f * 3 + r) % 10) as u8
}

/// Writes the six official batch files with `per_file` random records each.
pub fn write_binary(dir: &Path, per_file: usize, seed: u64) -> Expected {
    fs::create_dir_all(dir).unwrap();
    let mut rng = Rng::new(seed);
    let mut e = Expected {
        train_images: vec![],
        train_labels: vec![],
        test_images: vec![],
        test_labels: vec![],
    };
    for (f, name) in BATCHES.iter().enumerate() {
        let mut bytes = Vec::new();
        for r in 0..per_file {
            let label = batch_label(f, r);
            let pixels = rng.bytes(IMG);
            bytes.push(label);
            bytes.extend_from_slice(&pixels);
            let (imgs, labels) = if f < 5 {
                (&mut e.train_images, &mut e.train_labels)
            } else {
                (&mut e.test_images, &mut e.test_labels)
            };
            imgs.extend_from_slice(&pixels);
            labels.push(label);
        }
        fs::write(dir.join(name), bytes).unwrap();
    }
    e
}

/// Packs the contents of `src` into a `.tar.gz` at `out`, under `prefix`
/// (empty: members at the archive root).
pub fn tar_gz(src: &Path, out: &Path, prefix: &str) {
    let file = fs::File::create(out).unwrap();
    let mut b = tar::Builder::new(GzEncoder::new(file, flate2::Compression::fast()));
    b.append_dir_all(if prefix.is_empty() { "." } else { prefix }, src)
        .unwrap();
    b.into_inner().unwrap().finish().unwrap();
}

/// CHW bytes -> 32x32 RGB image.
pub fn chw_to_rgb(chw: &[u8]) -> ImageBuffer<Rgb<u8>, Vec<u8>> {
    ImageBuffer::from_fn(32, 32, |x, y| {
        let p = (y * 32 + x) as usize;
        Rgb([chw[p], chw[1024 + p], chw[2048 + p]])
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    Png,
    Jpeg,
}

/// File names per class, deliberately not in creation order and mixing digits
/// and letters: the loader must sort by name (byte order).
pub const NAMES: [&str; 4] = ["b", "10", "a", "9"];

/// A smooth image (JPEG-friendly) that still differs per `seed`.
pub fn smooth_image(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let base: Vec<f64> = (0..9)
        .map(|_| (rng.next() % 1000) as f64 / 1000.0)
        .collect();
    let mut chw = vec![0u8; IMG];
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                let v = 40.0
                    + 170.0 * (base[c * 3] * x as f64 / 31.0 + base[c * 3 + 1] * y as f64 / 31.0)
                        / 2.0
                    + 40.0 * base[c * 3 + 2];
                chw[c * 1024 + y * 32 + x] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    chw
}

/// Writes `train/<class>/<name>.<ext>` and `test/...` under `root`, with
/// `n_train` / `n_test` images per class (names from [`NAMES`]). Random pixels
/// for PNG (exact round trip), smooth ones for JPEG.
pub fn write_folder(
    root: &Path,
    n_train: usize,
    n_test: usize,
    format: Format,
    seed: u64,
) -> Expected {
    let mut e = Expected {
        train_images: vec![],
        train_labels: vec![],
        test_images: vec![],
        test_labels: vec![],
    };
    let mut rng = Rng::new(seed);
    for (split, n) in [("train", n_train), ("test", n_test)] {
        for (label, class) in CLASSES.iter().enumerate() {
            let dir = root.join(split).join(class);
            fs::create_dir_all(&dir).unwrap();
            let mut named: Vec<(&str, Vec<u8>)> = Vec::new();
            for name in &NAMES[..n] {
                let chw = match format {
                    Format::Png => rng.bytes(IMG),
                    Format::Jpeg => smooth_image(rng.next()),
                };
                let img = chw_to_rgb(&chw);
                match format {
                    Format::Png => img.save(dir.join(format!("{name}.png"))).unwrap(),
                    Format::Jpeg => {
                        let f = fs::File::create(dir.join(format!("{name}.jpg"))).unwrap();
                        image::codecs::jpeg::JpegEncoder::new_with_quality(f, 95)
                            .encode_image(&img)
                            .unwrap();
                    }
                }
                named.push((name, chw));
            }
            named.sort_by(|a, b| a.0.cmp(b.0));
            let (imgs, labels) = if split == "train" {
                (&mut e.train_images, &mut e.train_labels)
            } else {
                (&mut e.test_images, &mut e.test_labels)
            };
            for (_, chw) in named {
                imgs.extend_from_slice(&chw);
                labels.push(label as u8);
            }
        }
    }
    e
}

/// A log sink that records lines (and echoes them for `--nocapture`).
#[derive(Default)]
pub struct Log(pub RefCell<Vec<String>>);

impl Log {
    pub fn f(&self) -> impl Fn(&str) + '_ {
        move |m: &str| {
            println!("{m}");
            self.0.borrow_mut().push(m.to_string());
        }
    }
    pub fn contains(&self, needle: &str) -> bool {
        self.0.borrow().iter().any(|l| l.contains(needle))
    }
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

/// The error message of a load that must fail.
pub fn load_err(source: &cifar10::Source, cache: &Path) -> String {
    match cifar10::load(source, cache, &|m| println!("{m}")) {
        Ok(_) => panic!("loading {source:?} should have failed"),
        Err(e) => {
            let msg = e.to_string();
            println!("error: {msg}");
            msg
        }
    }
}

/// Names of the entries of `dir` (for checking what a failed run left behind).
pub fn entries(dir: &Path) -> Vec<String> {
    match fs::read_dir(dir) {
        Ok(rd) => {
            let mut v: Vec<String> = rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
        Err(_) => vec![],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(sha2::Sha256::digest(bytes).as_slice())
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex(md5::Md5::digest(bytes).as_slice())
}
