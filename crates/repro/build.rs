//! Links libtorch (rpath, libtorch_cuda) for the binaries, tests and examples
//! of the driver.
fn main() {
    torch_link::emit();
}
