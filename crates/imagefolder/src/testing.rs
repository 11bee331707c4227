//! A tiny ImageNet-style tree for tests of the image-folder path (no real data).
use std::path::Path;

/// Writes `train/<wnid>/*.JPEG` (4 per class) and `val/<wnid>/*.JPEG` (2 per
/// class) for three classes: varied sizes and aspect ratios, a class colour
/// plus a gradient, so that the scale augmentation and crops have work to do.
pub fn write_tree(root: &Path) -> std::io::Result<()> {
    let classes = [
        ("n01440764", [200u8, 30, 30]),
        ("n01443537", [30, 200, 30]),
        ("n01484850", [30, 30, 200]),
    ];
    for (split, n) in [("train", 4), ("val", 2)] {
        for (i, (wnid, rgb)) in classes.iter().enumerate() {
            let dir = root.join(split).join(wnid);
            std::fs::create_dir_all(&dir)?;
            for k in 0..n {
                let (w, h) = (260 + 40 * k as u32 + 10 * i as u32, 300 - 20 * k as u32);
                let img = image::RgbImage::from_fn(w, h, |x, _| {
                    image::Rgb([rgb[0].saturating_add((x % 40) as u8), rgb[1], rgb[2]])
                });
                img.save(dir.join(format!("{wnid}_{k}.JPEG")))
                    .map_err(std::io::Error::other)?;
            }
        }
    }
    Ok(())
}
