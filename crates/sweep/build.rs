fn main() {
    // `repro` links libtorch (for reading the metrics it shares the Parquet code).
    torch_link::emit();
}
