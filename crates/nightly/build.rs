fn main() {
    // `repro` (the experiment registry) links libtorch.
    torch_link::emit();
}
