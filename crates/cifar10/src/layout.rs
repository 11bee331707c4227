//! Layout detection, validation and decoding of the two on-disk forms:
//! the official binary batches and an image-folder tree.
use crate::tree::{is_ignorable, join, Tree};
use crate::{DataError, Split, CLASSES, IMAGE_BYTES};
use rayon::prelude::*;
use std::borrow::Cow;

/// Bytes of one record of the official binary format: label byte + pixels.
const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
const TRAIN_BATCHES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const TEST_BATCH: &str = "test_batch.bin";
/// Every batch file of the official layout: the training batches, then the test batch.
pub(crate) const BATCH_FILES: [&str; 6] = [
    TRAIN_BATCHES[0],
    TRAIN_BATCHES[1],
    TRAIN_BATCHES[2],
    TRAIN_BATCHES[3],
    TRAIN_BATCHES[4],
    TEST_BATCH,
];
/// The folder the official archive unpacks to.
pub(crate) const BATCHES_DIR: &str = "cifar-10-batches-bin";
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Official binary batches.
    Binary,
    /// `train/<class>/*`, `test/<class>/*` images.
    Folder,
}

/// One file used by a plan. For image folders `label` is the class index; for
/// binary batches the labels are inside the file and `label` is unused.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub rel: String,
    pub label: u8,
}

/// Which files make up each split, in load order. Built from names alone, so
/// layout errors surface before any large read or decode.
#[derive(Debug)]
pub(crate) struct Plan {
    pub kind: Kind,
    pub train: Vec<Item>,
    pub test: Vec<Item>,
}

impl Plan {
    /// All used files: train then test, matching [`read_used`]'s order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.train.iter().chain(self.test.iter())
    }
}

/// Finds the layout at the root of `tree`, or inside `cifar-10-batches-bin/`,
/// or inside the tree's only sub-folder (archives often wrap everything in one
/// top-level folder).
pub(crate) fn plan(tree: &Tree) -> Result<Plan, DataError> {
    if let Some(p) = plan_at(tree, "")? {
        return Ok(p);
    }
    let subdirs: Vec<String> = tree
        .list_dir("")?
        .into_iter()
        .filter(|e| e.is_dir && !is_ignorable(&e.name))
        .map(|e| e.name)
        .collect();
    if subdirs.iter().any(|d| d == BATCHES_DIR) {
        if let Some(p) = plan_at(tree, BATCHES_DIR)? {
            return Ok(p);
        }
    }
    if let [only] = subdirs.as_slice() {
        if let Some(p) = plan_at(tree, only)? {
            return Ok(p);
        }
    }
    Err(DataError::UnrecognizedLayout {
        path: tree.display_path(""),
    })
}

fn plan_at(tree: &Tree, root: &str) -> Result<Option<Plan>, DataError> {
    let all_batches = || TRAIN_BATCHES.iter().chain(std::iter::once(&TEST_BATCH));
    if all_batches().any(|b| tree.is_file(&join(root, b))) {
        // Any batch file present means the binary layout was meant: report the
        // missing ones instead of "unrecognised layout".
        if let Some(missing) = all_batches().find(|b| !tree.is_file(&join(root, b))) {
            return Err(DataError::MissingBatch {
                path: tree.display_path(&join(root, missing)),
            });
        }
        let item = |b: &str| Item {
            rel: join(root, b),
            label: 0,
        };
        return Ok(Some(Plan {
            kind: Kind::Binary,
            train: TRAIN_BATCHES.iter().map(|b| item(b)).collect(),
            test: vec![item(TEST_BATCH)],
        }));
    }
    if tree.is_dir(&join(root, "train")) || tree.is_dir(&join(root, "test")) {
        return Ok(Some(Plan {
            kind: Kind::Folder,
            train: folder_split(tree, root, "train")?,
            test: folder_split(tree, root, "test")?,
        }));
    }
    Ok(None)
}

/// Lists one split of an image folder: classes in [`CLASSES`] order (the
/// official label order), files within a class sorted by name (byte order) so
/// that the order, and hence any seeded shuffle downstream, is reproducible.
fn folder_split(tree: &Tree, root: &str, split: &'static str) -> Result<Vec<Item>, DataError> {
    let split_rel = join(root, split);
    if !tree.is_dir(&split_rel) {
        return Err(DataError::MissingSplit {
            path: tree.display_path(&split_rel),
            split,
        });
    }
    for e in tree.list_dir(&split_rel)? {
        if is_ignorable(&e.name) {
            continue;
        }
        let path = tree.display_path(&join(&split_rel, &e.name));
        if !e.is_dir {
            return Err(DataError::UnexpectedEntry {
                path,
                reason: format!("a file directly inside {split}/, where only class folders belong"),
            });
        }
        if !CLASSES.contains(&e.name.as_str()) {
            return Err(DataError::UnknownClass { path, name: e.name });
        }
    }
    let mut items = Vec::new();
    for (label, class) in (0u8..).zip(CLASSES) {
        let class_rel = join(&split_rel, class);
        if !tree.is_dir(&class_rel) {
            return Err(DataError::MissingClass {
                path: tree.display_path(&class_rel),
            });
        }
        for e in tree.list_dir(&class_rel)? {
            if is_ignorable(&e.name) {
                continue;
            }
            let rel = join(&class_rel, &e.name);
            let ext = e.name.rsplit_once('.').map(|(_, x)| x.to_ascii_lowercase());
            if e.is_dir || !ext.is_some_and(|x| IMAGE_EXTENSIONS.contains(&x.as_str())) {
                return Err(DataError::UnexpectedEntry {
                    path: tree.display_path(&rel),
                    reason: "a class folder may only hold .png, .jpg or .jpeg images".into(),
                });
            }
            items.push(Item { rel, label });
        }
    }
    if items.is_empty() {
        return Err(DataError::EmptySplit {
            path: tree.display_path(&split_rel),
            split,
        });
    }
    Ok(items)
}

/// Reads every used file (in parallel for a directory: many small files).
pub(crate) fn read_used<'t>(tree: &'t Tree, plan: &Plan) -> Result<Vec<Cow<'t, [u8]>>, DataError> {
    let items: Vec<&Item> = plan.items().collect();
    items.par_iter().map(|it| tree.read(&it.rel)).collect()
}

/// Decodes both splits; `contents` is aligned with [`Plan::items`].
pub(crate) fn decode(
    tree: &Tree,
    plan: &Plan,
    contents: &[Cow<'_, [u8]>],
) -> Result<(Split, Split), DataError> {
    let (train_bytes, test_bytes) = contents.split_at(plan.train.len());
    match plan.kind {
        Kind::Binary => {
            let all: Vec<&Item> = plan.items().collect();
            check_record_counts(tree, &all, contents)?;
            Ok((
                decode_batches(tree, &plan.train, train_bytes)?,
                decode_batches(tree, &plan.test, test_bytes)?,
            ))
        }
        Kind::Folder => Ok((
            decode_images(tree, &plan.train, train_bytes)?,
            decode_images(tree, &plan.test, test_bytes)?,
        )),
    }
}

/// Every official batch file holds the same number of records (10000), so a
/// file cut at a record boundary shows up as holding fewer than the others.
/// Total counts are deliberately not fixed at 50000/10000: small generated
/// datasets in the same format are legitimate.
fn check_record_counts(
    tree: &Tree,
    items: &[&Item],
    contents: &[Cow<'_, [u8]>],
) -> Result<(), DataError> {
    let mut counts = Vec::with_capacity(items.len());
    for (item, bytes) in items.iter().zip(contents) {
        if bytes.is_empty() || bytes.len() % RECORD_BYTES != 0 {
            return Err(DataError::BadBatch {
                path: tree.display_path(&item.rel),
                detail: format!(
                    "size {} bytes is not a positive whole number of {RECORD_BYTES}-byte records \
                     (1 label byte + 3072 pixel bytes)",
                    bytes.len()
                ),
            });
        }
        counts.push(bytes.len() / RECORD_BYTES);
    }
    // The most common count (ties: the larger one, since truncation shrinks files).
    let Some(expected) = counts
        .iter()
        .map(|&c| (counts.iter().filter(|&&d| d == c).count(), c))
        .max()
        .map(|(_, c)| c)
    else {
        return Ok(());
    };
    if let Some(i) = counts.iter().position(|&c| c != expected) {
        return Err(DataError::BadBatch {
            path: tree.display_path(&items[i].rel),
            detail: format!(
                "holds {} records while the other batch files hold {expected}; \
                 all six batch files of the official layout hold the same number (10000)",
                counts[i]
            ),
        });
    }
    Ok(())
}

fn decode_batches(
    tree: &Tree,
    items: &[Item],
    contents: &[Cow<'_, [u8]>],
) -> Result<Split, DataError> {
    let total: usize = contents.iter().map(|c| c.len() / RECORD_BYTES).sum();
    let mut images = Vec::with_capacity(total * IMAGE_BYTES);
    let mut labels = Vec::with_capacity(total);
    for (item, bytes) in items.iter().zip(contents) {
        for (record, chunk) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
            let label = chunk[0];
            if usize::from(label) >= CLASSES.len() {
                return Err(DataError::LabelOutOfRange {
                    path: tree.display_path(&item.rel),
                    record,
                    label,
                });
            }
            labels.push(label);
            // The file already stores R, G and B planes: CHW as is.
            images.extend_from_slice(&chunk[1..]);
        }
    }
    Ok(Split { images, labels })
}

fn decode_images(
    tree: &Tree,
    items: &[Item],
    contents: &[Cow<'_, [u8]>],
) -> Result<Split, DataError> {
    let mut images = vec![0u8; items.len() * IMAGE_BYTES];
    let results: Vec<Result<(), DataError>> = images
        .par_chunks_mut(IMAGE_BYTES)
        .zip(items.par_iter().zip(contents.par_iter()))
        .map(|(out, (item, bytes))| decode_image(tree, item, bytes, out))
        .collect();
    // The first failure in file order, so the reported file does not depend on
    // thread timing.
    results.into_iter().collect::<Result<(), DataError>>()?;
    Ok(Split {
        images,
        labels: items.iter().map(|i| i.label).collect(),
    })
}

/// Decodes one PNG/JPEG (format sniffed from the bytes) into `out` as CHW.
fn decode_image(tree: &Tree, item: &Item, bytes: &[u8], out: &mut [u8]) -> Result<(), DataError> {
    let img = image::load_from_memory(bytes).map_err(|e| DataError::UndecodableImage {
        path: tree.display_path(&item.rel),
        message: e.to_string(),
    })?;
    if img.width() != 32 || img.height() != 32 {
        return Err(DataError::WrongImageSize {
            path: tree.display_path(&item.rel),
            width: img.width(),
            height: img.height(),
        });
    }
    // Any colour type (grey, RGBA, 16-bit) becomes 8-bit RGB.
    let rgb = img.into_rgb8();
    let (r, rest) = out.split_at_mut(1024);
    let (g, b) = rest.split_at_mut(1024);
    for (i, px) in rgb.as_raw().chunks_exact(3).enumerate() {
        r[i] = px[0];
        g[i] = px[1];
        b[i] = px[2];
    }
    Ok(())
}
